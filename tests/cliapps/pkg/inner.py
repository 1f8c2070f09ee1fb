"""An app inside a package, loaded by file path."""

from phial import Phial

app = Phial("cliapps.pkg.inner")
