"""`jwtauth scan` on temporary trees: each kind of finding, the clean cases, the baseline, and
that no output ever contains the secret. Every secret here is made at run time, so this file
itself holds none for the repository's own scan to find."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jwtauth.cli import app
from jwtauth.hygiene.scan_plugins import is_jwt_setting_name
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import generate_key
from jwtauth.sources.loading import private_pem

pytestmark = pytest.mark.usefixtures("clean_env")

CORPUS = Path(__file__).parents[1] / "fixtures" / "scan"
PLACEHOLDER = "<planted>"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["scan", *args])


def secret() -> str:
    # A prefix no path or kind in the output can contain by chance.
    return "Qz" + secrets.token_urlsafe(30)


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(header: dict[str, object]) -> str:
    return f"{b64(header)}.{b64({'sub': 'alice', 'exp': 2000000000})}.{secret()}"


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def lines(result: Result) -> list[str]:
    return result.stdout.splitlines()


def assert_never_shown(result: Result, *values: str) -> None:
    """Neither the value nor any 4-character piece of it appears in stdout or stderr."""
    output = result.stdout + result.stderr
    for value in values:
        pieces = {value[i : i + 4] for i in range(len(value) - 3)}
        assert not [p for p in pieces if p in output], "a piece of a secret was printed"


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("settings.py", 'JWT_SECRET = "{}"\n'),
        ("settings.py", "SECRET_KEY = '{}'\n"),
        ("settings.py", 'JWT_SECRET_KEY: str = "{}"\n'),
        ("settings.py", 'SIMPLE_JWT = {{"ALGORITHM": "HS256", "SIGNING_KEY": "{}"}}\n'),
        ("settings.py", 'SIMPLE_JWT = {{\n    "SIGNING_KEY": "{}",\n}}\n'),
        ("app.py", 'app.config["JWT_SECRET_KEY"] = "{}"\n'),
        ("app.js", "const jwtSecret = '{}';\n"),
        ("config.yaml", "auth:\n  jwt_secret: {}\n"),
        ("config.toml", '[auth]\nsigning_key = "{}"\n'),
        ("config.json", '{{"auth": {{"JWT_SECRET": "{}"}}}}\n'),
        ("app.ini", "[jwt]\nJWT_SECRET = {}\n"),
        ("deploy.sh", "export JWTAUTH_SECRET={}\n"),
    ],
)
def test_a_literal_jwt_secret_setting_is_found(tmp_path: Path, name: str, template: str) -> None:
    value = secret()
    path = write(tmp_path, name, template.format(value))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if value in text)
    result = run(str(tmp_path))
    assert result.exit_code == 1, result.output
    assert f"{name}:{line}: JWT Secret Setting" in lines(result)
    # The generic keyword plugin's report on the same line is folded into the specific one.
    assert not [ln for ln in lines(result) if ln.startswith(f"{name}:{line}: Secret Keyword")]
    assert_never_shown(result, value)


@pytest.mark.parametrize(
    "code",
    [
        'JWT_SECRET = os.environ["JWT_SECRET"]',
        'JWT_SECRET = os.getenv("JWT_SECRET")',
        'SECRET_KEY = env("SECRET_KEY")',
        'SECRET_KEY = settings.get("SECRET_KEY", "")',
        'JWT_SECRET = ""',
        'JWT_SECRET = "${JWT_SECRET}"',
        'JWT_SECRET = "<your-jwt-secret>"',
        'JWT_SECRET = "{{ jwt_secret }}"',
        'SIMPLE_JWT = {"SIGNING_KEY": SECRET_KEY}',
        'JWT_SECRET_FILE = "/run/secrets/jwt"',
        'JWT_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"',
        'JWT_ALGORITHM = "HS256"',
        "JWT_SECRET = load_secret()",
    ],
)
def test_references_and_non_secrets_are_not_flagged(tmp_path: Path, code: str) -> None:
    write(tmp_path, "settings.py", f"import os\n{code}\n")
    result = run(str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_yaml_and_env_references_are_not_flagged(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "jwt_secret: ${JWT_SECRET}\nsigning_key: ''\n")
    write(tmp_path, ".env", "JWTAUTH_SECRET=\nAPI_TOKEN=${API_TOKEN}\nDEBUG=1\n")
    write(tmp_path, ".env.example", "JWT_SECRET=<your-secret>\nAPI_TOKEN=\n")
    result = run(str(tmp_path))
    assert result.exit_code == 0, result.output


def test_an_example_env_file_is_no_dotenv_finding_but_its_jwt_secret_is(tmp_path: Path) -> None:
    # `.env.example` is meant to be committed; a real-looking JWT secret in it is still a leak.
    write(tmp_path, ".env.example", f"API_TOKEN={secret()}\nJWT_SECRET={secret()}\n")
    result = run(str(tmp_path))
    assert [ln.split("/")[-1] for ln in lines(result)] == [".env.example:2: JWT Secret Setting"]


def test_a_private_key_is_found(tmp_path: Path) -> None:
    pem = private_pem(generate_key(Algorithm.ES256)).decode()
    write(tmp_path, "keys/signing.pem", pem)
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert lines(result) == ["keys/signing.pem:1: Private Key"] or (
        # Paths are relative to the working directory when the tree lies under it.
        [ln.rsplit("/", 2)[-2:] for ln in lines(result)] == [["keys", "signing.pem:1: Private Key"]]
    )
    body = "".join(pem.splitlines()[1:-1])
    assert_never_shown(result, body)


@pytest.mark.parametrize("name", [".env", ".env.production", "service/.env.local"])
def test_a_committed_env_file_with_a_secret_is_found(tmp_path: Path, name: str) -> None:
    value = secret()
    write(tmp_path, name, f"DEBUG=1\nSTRIPE_API_TOKEN={value}\n")
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert any(ln.endswith(f"{name}:2: Dotenv Secret") for ln in lines(result)), result.stdout
    assert_never_shown(result, value)


def test_a_literal_jwt_is_found(tmp_path: Path) -> None:
    token = jwt({"alg": "HS256", "typ": "JWT"})
    write(tmp_path, "tests/data.py", f"TOKEN = {token!r}\n")
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert [ln.split("/")[-1] for ln in lines(result)] == ["data.py:1: JSON Web Token"]
    assert_never_shown(result, token.split(".")[2])


def test_a_jwt_shape_without_alg_is_not_flagged(tmp_path: Path) -> None:
    # Stock JwtTokenDetector accepts any two JSON segments; our filter wants a JOSE header.
    write(tmp_path, "data.py", f"BLOB = {jwt({'kind': 'note'})!r}\n")
    result = run(str(tmp_path))
    assert result.exit_code == 0, result.output


def test_a_clean_tree_exits_zero(tmp_path: Path) -> None:
    write(tmp_path, "app.py", "import os\n\nSECRET_KEY = os.environ['SECRET_KEY']\n")
    write(tmp_path, "README.md", "Set `JWT_SECRET` in the environment.\n")
    result = run(str(tmp_path))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_tool_directories_and_binary_files_are_skipped(tmp_path: Path) -> None:
    skipped = (".git", ".venv", ".uv", "node_modules", "__pycache__", ".mypy_cache", ".jwtauth")
    for directory in skipped:
        write(tmp_path, f"{directory}/settings.py", f'JWT_SECRET = "{secret()}"\n')
    (tmp_path / "blob.bin").write_bytes(b"\0\1" + f'JWT_SECRET = "{secret()}"'.encode())
    result = run(str(tmp_path))
    assert result.exit_code == 0, result.output


def test_the_keyword_plugin_is_kept_for_passwords_but_not_for_names_about_them(
    tmp_path: Path,
) -> None:
    value = secret()
    write(
        tmp_path,
        "app.py",
        f'db_password = "{value}"\n'
        'secret_type = "Secret Keyword"\n'
        'if settings.secret_source != "local":\n    pass\n'
        'assert user.password_hash == "argon2-hash"\n',
    )
    result = run(str(tmp_path))
    assert [ln.split("/")[-1] for ln in lines(result)] == ["app.py:1: Secret Keyword"]
    assert_never_shown(result, value)


def test_baseline_files_are_not_scanned(tmp_path: Path) -> None:
    # A baseline holds only hashes, next to key names such as "hashed_secret".
    write(tmp_path, "app.py", f'SECRET_KEY = "{secret()}"\n')
    assert (
        run("--update-baseline", str(tmp_path / ".secrets.baseline"), str(tmp_path)).exit_code == 0
    )
    (tmp_path / "app.py").unlink()
    write(tmp_path, "other.baseline", (tmp_path / ".secrets.baseline").read_text())
    result = run("--baseline", str(tmp_path / "other.baseline"), str(tmp_path))
    assert result.exit_code == 0, result.output
    # Bearing the name is not enough: only a baseline's content is passed over.
    write(tmp_path, "sub/.secrets.baseline", f'JWT_SECRET = "{secret()}"\n')
    hidden = run("--baseline", str(tmp_path / "other.baseline"), str(tmp_path))
    assert hidden.exit_code == 1
    assert [ln.split("/")[-1] for ln in lines(hidden)] == [
        ".secrets.baseline:1: JWT Secret Setting"
    ]


def test_an_allowlist_pragma_silences_one_line(tmp_path: Path) -> None:
    write(tmp_path, "app.py", f'JWT_SECRET = "{secret()}"  # pragma: allowlist secret\n')
    assert run(str(tmp_path)).exit_code == 0


def test_several_paths_as_pre_commit_passes_them(tmp_path: Path) -> None:
    first = write(tmp_path, "a.py", f'JWT_SECRET = "{secret()}"\n')
    second = write(tmp_path, "b.py", f'SIGNING_KEY = "{secret()}"\n')
    write(tmp_path, "c.py", f'SIGNING_KEY = "{secret()}"\n')  # not passed, not scanned
    result = run(str(first), str(second))
    assert result.exit_code == 1
    assert [ln.split("/")[-1] for ln in lines(result)] == [
        "a.py:1: JWT Secret Setting",
        "b.py:1: JWT Secret Setting",
    ]


def test_the_baseline_suppresses_recorded_findings_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known, new = secret(), secret()
    write(tmp_path, "tests/fixture.py", f'JWT_SECRET = "{known}"\n')
    baseline = tmp_path / ".secrets.baseline"
    monkeypatch.chdir(tmp_path)
    written = run("--update-baseline", str(baseline), ".")
    assert written.exit_code == 0, written.output
    document = json.loads(baseline.read_text())
    # detect-secrets' own format: results by file, the SHA-1 of the secret, never the secret.
    entries = document["results"]["tests/fixture.py"]
    assert {e["type"] for e in entries} == {"JWT Secret Setting", "Secret Keyword"}
    assert {e["line_number"] for e in entries} == {1}
    assert all(len(e["hashed_secret"]) == 40 for e in entries)
    assert {"version", "plugins_used", "filters_used"} <= document.keys()
    assert known not in baseline.read_text()
    assert_never_shown(written, known)

    assert run("--baseline", str(baseline), ".").exit_code == 0
    # A moved line is still the same finding; a new secret in the same file is not.
    write(tmp_path, "tests/fixture.py", f'\n\nJWT_SECRET = "{known}"\nSIGNING_KEY = "{new}"\n')
    result = run("--baseline", str(baseline), ".")
    assert result.exit_code == 1
    assert lines(result) == ["tests/fixture.py:4: JWT Secret Setting"]
    assert_never_shown(result, known, new)


def test_the_baseline_matches_from_another_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "repo"
    write(tree, "fixture.py", f'SECRET_KEY = "{secret()}"\n')
    baseline = tree / ".secrets.baseline"
    assert run("--update-baseline", str(baseline), str(tree)).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run("--baseline", str(baseline), str(tree)).exit_code == 0
    assert run(str(tree)).exit_code == 1


def test_updating_a_baseline_keeps_audit_verdicts(tmp_path: Path) -> None:
    write(tmp_path, "fixture.py", f'SECRET_KEY = "{secret()}"\n')
    baseline = tmp_path / ".secrets.baseline"
    assert run("--update-baseline", str(baseline), str(tmp_path)).exit_code == 0
    document = json.loads(baseline.read_text())
    document["results"]["fixture.py"][0]["is_secret"] = False
    baseline.write_text(json.dumps(document))
    assert run("--update-baseline", str(baseline), str(tmp_path)).exit_code == 0
    assert json.loads(baseline.read_text())["results"]["fixture.py"][0]["is_secret"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["does-not-exist"], "no such file or directory"),
        (["--baseline", "missing.json", "."], "no such baseline file"),
        (["--baseline", "broken.json", "."], "not a readable detect-secrets baseline"),
        (["--baseline", "list.json", "."], "not a detect-secrets baseline"),
        (["--baseline", "b", "--update-baseline", "c", "."], "either --baseline"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[]")
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_an_unknown_option_is_a_usage_error() -> None:
    assert run("--no-such-option").exit_code == 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("JWT_SECRET", True),
        ("jwtSecret", True),
        ("JWTAUTH_SECRET", True),
        ("SECRET_KEY", True),
        ("DJANGO_SECRET_KEY", True),
        ("SIGNING_KEY", True),
        ("HMAC_KEY", True),
        ("settings.JWT_PRIVATE_KEY", True),
        ("JWT_PUBLIC_KEY", False),
        ("JWT_SECRET_FILE", False),
        ("JWT_KEY_ID", False),
        ("SECRET", False),  # the keyword plugin's business, not a JWT setting
        ("API_KEY", False),
        ("SECRET_FIELDS", False),
        ("JWTSecret", True),  # an acronym is one word
        ("HMACKey", True),
        ("JWT_JSON_KEY", False),  # the key of a lookup (flask-jwt-extended), not a signing key
        ("JWT_ERROR_MESSAGE_KEY", False),
        ("SECRET_KEY_WARNING_MSG", False),
    ],
)
def test_which_names_are_jwt_secret_settings(name: str, expected: bool) -> None:
    assert is_jwt_setting_name(name) is expected


# The planted corpus: one way of writing a JWT secret per file (tests/fixtures/scan/README.md),
# and the kind of finding each one is.
PLANTED = [
    ("authlib_decode.py", "JWT Key Literal"),
    ("authlib_encode.py", "JWT Key Literal"),
    ("conditional_default.py", "JWT Secret Setting"),
    ("config_object.ts", "JWT Secret Setting"),
    ("config_object_call.js", "JWT Secret Setting"),
    ("decouple_config_default.py", "JWT Secret Setting"),
    ("django_environ_default.py", "JWT Secret Setting"),
    ("django_secret_key.py", "JWT Secret Setting"),
    ("django_simple_jwt.py", "JWT Secret Setting"),
    ("django_simple_jwt_dict_call.py", "JWT Secret Setting"),
    ("env_fallback_nullish.ts", "JWT Secret Setting"),
    ("env_fallback_or.js", "JWT Secret Setting"),
    ("environ_get_default.py", "JWT Secret Setting"),
    ("environ_setdefault.py", "JWT Secret Setting"),
    ("express_jwt.js", "JWT Key Literal"),
    ("express_jwt_multiline.ts", "JWT Key Literal"),
    ("flask_config_class.py", "JWT Secret Setting"),
    ("flask_config_item.py", "JWT Secret Setting"),
    ("flask_config_update_dict.py", "JWT Secret Setting"),
    ("flask_config_update_keywords.py", "JWT Secret Setting"),
    ("fstring.py", "JWT Secret Setting"),
    ("fstring_key_argument.py", "JWT Key Literal"),
    ("function_default.py", "JWT Secret Setting"),
    ("getenv_default_keyword.py", "JWT Secret Setting"),
    ("getenv_or_fallback.py", "JWT Secret Setting"),
    ("golang_config_struct.go", "JWT Secret Setting"),
    ("golang_jwt_named_keyfunc.go", "JWT Key Literal"),
    ("golang_jwt_parse_keyfunc.go", "JWT Key Literal"),
    ("golang_jwt_parse_with_claims.go", "JWT Key Literal"),
    ("golang_jwt_signed_string.go", "JWT Key Literal"),
    ("golang_jwt_signed_string_variable.go", "JWT Key Literal"),
    ("golang_jwt_var.go", "JWT Secret Setting"),
    ("jose_jws_sign.py", "JWT Key Literal"),
    ("jose_jwt_encode.py", "JWT Key Literal"),
    ("jose_jwtverify_multiline.mjs", "JWT Key Literal"),
    ("jose_text_encoder.ts", "JWT Key Literal"),
    ("joserfc_oct_key.py", "JWT Key Literal"),
    ("jsonwebtoken_buffer_key.js", "JWT Key Literal"),
    ("jsonwebtoken_key_in_a_const.ts", "JWT Key Literal"),
    ("jsonwebtoken_named_import.mjs", "JWT Key Literal"),
    ("jsonwebtoken_sign.js", "JWT Key Literal"),
    ("jsonwebtoken_sign_multiline.ts", "JWT Key Literal"),
    ("jsonwebtoken_template_literal.js", "JWT Key Literal"),
    ("jsonwebtoken_verify.js", "JWT Key Literal"),
    ("jwt_secret_keyword.py", "JWT Secret Setting"),
    ("jwtauth_hmac_key.py", "JWT Key Literal"),
    ("multiline_backslash.py", "JWT Secret Setting"),
    ("multiline_concatenated.py", "JWT Secret Setting"),
    ("multiline_parenthesised.py", "JWT Secret Setting"),
    ("notebook_assignment.ipynb", "JWT Secret Setting"),
    ("notebook_encode_call.ipynb", "JWT Key Literal"),
    ("notebook_string_source.ipynb", "JWT Secret Setting"),
    ("passport_jwt.js", "JWT Key Literal"),
    ("pydantic_field_default.py", "JWT Secret Setting"),
    ("pydantic_secretstr.py", "JWT Secret Setting"),
    ("pyjwt_bytes_key.py", "JWT Key Literal"),
    ("pyjwt_class_api.py", "JWT Key Literal"),
    ("pyjwt_decode.py", "JWT Key Literal"),
    ("pyjwt_encode.py", "JWT Key Literal"),
    ("pyjwt_encode_key_keyword.py", "JWT Key Literal"),
    ("pyjwt_encode_multiline_call.py", "JWT Key Literal"),
    ("pyjwt_from_import_alias.py", "JWT Key Literal"),
    ("pyjwt_key_in_a_variable.py", "JWT Key Literal"),
    ("pyjwt_str_encoded_key.py", "JWT Key Literal"),
    ("tuple_assignment.py", "JWT Secret Setting"),
]


def plant(tmp_path: Path, template: Path) -> tuple[Path, str]:
    """``template`` written under its own name less `.txt`, with a fresh secret in it."""
    value = secret()
    text = template.read_text(encoding="utf-8").replace(PLACEHOLDER, value)
    return write(tmp_path, template.name.removesuffix(".txt"), text), value


def test_the_corpus_is_complete() -> None:
    # A fixture left out of PLANTED would silently test nothing.
    names = sorted(path.name.removesuffix(".txt") for path in (CORPUS / "planted").iterdir())
    assert names == sorted(name for name, _ in PLANTED)
    assert len(PLANTED) >= 39
    assert all(PLACEHOLDER in (CORPUS / "planted" / f"{name}.txt").read_text() for name in names)


@pytest.mark.parametrize(("name", "kind"), PLANTED)
def test_each_planted_form_is_found_at_its_line(tmp_path: Path, name: str, kind: str) -> None:
    path, value = plant(tmp_path, CORPUS / "planted" / f"{name}.txt")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if value in text)
    result = run(str(tmp_path))
    assert result.exit_code == 1, result.output
    # One report, at the line that holds the secret: nothing else in the file is one.
    assert [ln.split("/")[-1] for ln in lines(result)] == [f"{name}:{line}: {kind}"]
    assert_never_shown(result, value)


@pytest.mark.parametrize(
    "template", sorted((CORPUS / "negative").iterdir()), ids=lambda path: path.name
)
def test_each_negative_is_not_flagged(tmp_path: Path, template: Path) -> None:
    plant(tmp_path, template)
    result = run(str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_the_corpus_templates_themselves_hold_no_finding() -> None:
    # The repository's own scan (`make scan`) reads tests/fixtures too.
    result = run(str(CORPUS))
    assert result.exit_code == 0, result.output


def test_an_allowlist_pragma_silences_a_whole_file_finding(tmp_path: Path) -> None:
    value = secret()
    write(
        tmp_path,
        "app.py",
        "import jwt\n\n"
        "token = jwt.encode(\n"
        '    {"sub": "alice"},\n'
        f'    "{value}",  # pragma: allowlist secret\n'
        ")\n",
    )
    result = run(str(tmp_path))
    assert result.exit_code == 0, result.output


def test_a_setting_used_as_a_key_is_reported_once(tmp_path: Path) -> None:
    value = secret()
    write(
        tmp_path,
        "app.ts",
        'import { jwtVerify } from "jose";\n'
        f'const jwtSecret = new TextEncoder().encode("{value}");\n'
        "export const read = (token: string) => jwtVerify(token, jwtSecret);\n",
    )
    result = run(str(tmp_path))
    assert [ln.split("/")[-1] for ln in lines(result)] == ["app.ts:2: JWT Secret Setting"]


def test_a_key_literal_is_recorded_by_the_baseline(tmp_path: Path) -> None:
    value = secret()
    write(
        tmp_path, "app.go", f'package a\n\nfunc f(t *T) {{ t.SignedString([]byte("{value}")) }}\n'
    )
    baseline = tmp_path / ".secrets.baseline"
    assert run("--update-baseline", str(baseline), str(tmp_path)).exit_code == 0
    entries = json.loads(baseline.read_text())["results"]["app.go"]
    assert [(e["type"], e["line_number"]) for e in entries] == [("JWT Key Literal", 3)]
    assert value not in baseline.read_text()
    assert run("--baseline", str(baseline), str(tmp_path)).exit_code == 0


def test_an_expression_nested_too_deep_does_not_stop_the_scan(tmp_path: Path) -> None:
    # ast.parse accepts these; walking them exceeds the interpreter's recursion limit.
    value = secret()
    nested = " + ".join(["x"] * 1000)
    # Only the whole-file detector sees this key (detect-secrets drops `x = f(...)` lines), and
    # it is kept although the walk stops further down.
    write(
        tmp_path, "generated.py", f'import jwt\ntoken = jwt.encode({{}}, "{value}")\nT = {nested}\n'
    )
    deep_js = "const total = " + "a || (" * 1000 + "a" + ")" * 1000 + ";\n"
    write(tmp_path, "deep.js", deep_js)
    write(tmp_path, "other.py", f'import jwt\njwt.decode(token, key="{value}")\n')
    result = run(str(tmp_path))
    assert result.exit_code == 1, result.output
    assert [ln.split("/")[-1] for ln in lines(result)] == [
        "generated.py:2: JWT Key Literal",
        "other.py:2: JWT Key Literal",
    ]
