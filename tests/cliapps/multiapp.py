"""Two apps in one module: discovery must ask which one."""

from phial import Phial

app1 = Phial("multi_1")
app2 = Phial("multi_2")
