"""An app named ``application``."""

from phial import Phial

application = Phial("application_app")
