"""Flask-WTF on phial: CSRF-protected FlaskForm, CSRFProtect, FileField upload."""

from __future__ import annotations

import io

import _harness  # installs the flask alias first
from flask import Blueprint, Flask, render_template_string, session
from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.csrf import CSRFError, generate_csrf
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired

app = Flask(__name__)
app.config.update(SECRET_KEY="wtf secret", TESTING=True)
csrf = CSRFProtect(app)


class NameForm(FlaskForm):
    name = StringField("name", validators=[DataRequired()])


class UploadForm(FlaskForm):
    upload = FileField("upload", validators=[FileRequired(), FileAllowed(["txt"])])


@app.route("/form", methods=["GET", "POST"])
def form_view() -> str:
    form = NameForm()
    if form.validate_on_submit():
        return f"hello {form.name.data}"
    if form.errors:
        return f"errors {sorted(form.errors)}"
    return render_template_string("{{ form.csrf_token() }}", form=form)


@app.route("/upload", methods=["POST"])
def upload_view() -> str:
    form = UploadForm()
    if form.validate_on_submit():
        f = form.upload.data
        return f"{f.filename}:{f.read().decode()}"
    return f"errors {form.errors}"


@app.route("/token")
def token_view() -> str:
    return generate_csrf()


@app.route("/exempt", methods=["POST"])
@csrf.exempt
def exempt_view() -> str:
    return "exempt"


@app.errorhandler(CSRFError)
def csrf_error(e: CSRFError) -> tuple[str, int]:
    if e.description == "The CSRF token is missing.":
        return "custom: token missing", 400
    return e.description, 400


hooks = Blueprint("hooks", __name__, url_prefix="/hooks")


@hooks.route("/in", methods=["POST"])
def hook_in() -> str:
    return "hook accepted"


csrf.exempt(hooks)
app.register_blueprint(hooks)


def _token(client: _harness.FlaskClient) -> str:
    return client.get("/token").text


def check_csrf_rejects_without_token() -> None:
    client = _harness.make_client(app)
    r = client.post("/form", data={"name": "bob"})
    assert r.status_code == 400, r.status_code
    assert r.text == "custom: token missing", r.text
    r = client.post("/form", data={"name": "bob", "csrf_token": "forged"})
    assert r.status_code == 400
    # No token was ever issued to this client, so its session has none.
    assert r.text == "The CSRF session token is missing.", r.text
    _token(client)
    r = client.post("/form", data={"name": "bob", "csrf_token": "forged"})
    assert r.text == "The CSRF token is invalid.", r.text


@app.route("/global")
def global_token() -> str:
    # CSRFProtect adds csrf_token() to the template globals.
    return render_template_string("{{ csrf_token() }}")


def check_csrf_accepts_token() -> None:
    client = _harness.make_client(app)
    r = client.post("/form", data={"name": "amy", "csrf_token": client.get("/global").text})
    assert r.text == "hello amy", r.text
    r = client.get("/form")
    assert 'name="csrf_token"' in r.text, r.text
    token = r.text.split('value="')[1].split('"')[0]
    with client.session_transaction() as sess:
        assert "csrf_token" in sess
    r = client.post("/form", data={"name": "bob", "csrf_token": token})
    assert r.status_code == 200, r.text
    assert r.text == "hello bob"
    # The header form of the token (AJAX) works as well.
    r = client.post("/form", data={"name": "eve"}, headers={"X-CSRFToken": _token(client)})
    assert r.text == "hello eve", r.text


def check_form_validation_errors() -> None:
    client = _harness.make_client(app)
    r = client.post("/form", data={"csrf_token": _token(client)})
    assert r.text == "errors ['name']", r.text


def check_exempt_view() -> None:
    client = _harness.make_client(app)
    assert client.post("/exempt").text == "exempt"


def check_json_body_and_exempt_blueprint() -> None:
    client = _harness.make_client(app)
    # FlaskForm reads a JSON body as form data; the token may come in a header.
    r = client.post("/form", json={"name": "jay"}, headers={"X-CSRFToken": _token(client)})
    assert r.text == "hello jay", r.text
    assert client.post("/hooks/in").text == "hook accepted"


def check_https_referrer_check() -> None:
    client = _harness.make_client(app)
    token = _token(client)
    data = {"name": "sue", "csrf_token": token}
    r = client.post("/form", data=data, base_url="https://localhost")
    assert r.status_code == 400 and r.text == "The referrer header is missing.", r.text
    headers = {"Referer": "https://evil.example/form"}
    r = client.post("/form", data=data, base_url="https://localhost", headers=headers)
    assert r.text == "The referrer does not match the host.", r.text
    headers = {"Referer": "https://localhost/form"}
    r = client.post("/form", data=data, base_url="https://localhost", headers=headers)
    assert r.text == "hello sue", r.text


def check_file_upload() -> None:
    client = _harness.make_client(app)
    token = _token(client)
    data = {"csrf_token": token, "upload": (io.BytesIO(b"file body"), "notes.txt")}
    r = client.post("/upload", data=data, content_type="multipart/form-data")
    assert r.text == "notes.txt:file body", r.text
    data = {"csrf_token": token, "upload": (io.BytesIO(b"x"), "evil.exe")}
    r = client.post("/upload", data=data, content_type="multipart/form-data")
    assert r.text.startswith("errors {'upload'"), r.text
    r = client.post("/upload", data={"csrf_token": token})
    assert r.text.startswith("errors {'upload'"), r.text


def check_form_outside_request_with_test_request_context() -> None:
    with app.test_request_context("/form", method="POST", data={"name": "zed"}):
        app.config["WTF_CSRF_ENABLED"] = False
        try:
            form = NameForm()
            assert form.validate()
            assert form.name.data == "zed"
        finally:
            app.config["WTF_CSRF_ENABLED"] = True
        assert "csrf_token" not in session


if __name__ == "__main__":
    _harness.run(
        [
            check_csrf_rejects_without_token,
            check_csrf_accepts_token,
            check_form_validation_errors,
            check_exempt_view,
            check_json_body_and_exempt_blueprint,
            check_https_referrer_check,
            check_file_upload,
            check_form_outside_request_with_test_request_context,
        ]
    )
