"""``flask toast sandbox`` belongs to the sandbox package: the portal offers it through an entry point and never
imports the sandbox itself."""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter: this one has imported the sandbox already. Builds the portal with its CLI, then asks for
# `flask toast sandbox --help` through it, and reports which sandbox modules were loaded at each step.
PROBE = """
import json, sys
from portal import create_app

def sandbox_modules():
    return sorted(name for name in sys.modules if name.partition(".")[0] == "toast_sandbox")

app = create_app({"TESTING": True, "SECRET_KEY": "probe", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
built = sandbox_modules()
command = app.test_cli_runner().invoke(args=["toast", "sandbox", "--help"])
group = app.test_cli_runner().invoke(args=["toast", "--help"])
print(json.dumps({"built": built, "used": sandbox_modules(), "exit_code": command.exit_code,
                  "help": command.output, "group_help": group.output}))
"""


def test_the_portal_offers_the_sandbox_command_without_importing_the_sandbox():
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    found = json.loads(probe.stdout.splitlines()[-1])
    assert found["built"] == []
    assert found["exit_code"] == 0, f"no `flask toast sandbox` (is the entry point installed? `make install`): {found}"
    assert "Serve a local Toast API sandbox" in found["help"] and "--group-sizes" in found["help"]
    assert "toast_sandbox.cli" in found["used"]
    assert re.search(r"^  sandbox +Serve a local Toast API sandbox", found["group_help"], re.MULTILINE)
