"""The only app instance of the module, under another name."""

from phial import Phial

my_app = Phial("single_app")
