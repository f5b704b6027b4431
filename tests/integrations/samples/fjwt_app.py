# flask-jwt-extended's jwt_required is typed as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""A small flask-jwt-extended application, written the way its documentation writes one: a
password login that issues a fresh access token with an extra claim, a protected route reading
the user through ``user_lookup_loader``, an optional one, a fresh-only one, and logout through a
blocklist.

``tests/integrations/test_migrating_flask.py`` runs it as it is, then migrates it with the steps
of ``docs/migrating-from-flask-jwt-extended.md`` and runs it again. The secret and the demo
password come from the environment (``SAMPLE_SECRET``, ``SAMPLE_PASSWORD``).
"""

import os
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    current_user,
    get_jwt,
    get_jwt_identity,
    jwt_required,
)
from werkzeug.security import check_password_hash, generate_password_hash

USERS = {
    "alice": {
        "name": "Alice",
        "password_hash": generate_password_hash(os.environ["SAMPLE_PASSWORD"]),
    }
}
PLANS = {"alice": "pro"}

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["SAMPLE_SECRET"]
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=15)
jwt = JWTManager(app)

BLOCKLIST: set[str] = set()


@jwt.token_in_blocklist_loader
def check_if_token_revoked(jwt_header: dict[str, Any], jwt_payload: dict[str, Any]) -> bool:
    return jwt_payload["jti"] in BLOCKLIST


@jwt.user_lookup_loader
def user_lookup_callback(_jwt_header: dict[str, Any], jwt_data: dict[str, Any]) -> Any:
    return USERS.get(jwt_data["sub"])


@jwt.additional_claims_loader
def add_claims_to_access_token(identity: str) -> dict[str, Any]:
    return {"plan": PLANS.get(identity, "free")}


@app.post("/login")
def login() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(msg="Send a JSON object"), 400
    username, password = str(body.get("username", "")), str(body.get("password", ""))
    user = USERS.get(username)
    if user is None or not check_password_hash(user["password_hash"], password):
        return jsonify(msg="Bad username or password"), 401
    return jsonify(access_token=create_access_token(identity=username, fresh=True))


@app.get("/protected")
@jwt_required()
def protected() -> ResponseReturnValue:
    return jsonify(
        logged_in_as=get_jwt_identity(), name=current_user["name"], plan=get_jwt()["plan"]
    )


@app.get("/optional")
@jwt_required(optional=True)
def optional() -> ResponseReturnValue:
    return jsonify(logged_in_as=get_jwt_identity())


@app.post("/password")
@jwt_required(fresh=True)
def change_password() -> ResponseReturnValue:
    return jsonify(msg="Password changed")


@app.delete("/logout")
@jwt_required()
def logout() -> ResponseReturnValue:
    jti = get_jwt()["jti"]
    BLOCKLIST.add(jti)
    return jsonify(msg="Access token revoked")
