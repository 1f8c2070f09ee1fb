"""An app with a shell context processor."""

from phial import Phial

app = Phial("shell_app")


@app.shell_context_processor
def extra() -> dict[str, int]:
    return {"answer": 42}
