"""The setup commands as a person meets them: messages, not stack traces."""

import os
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from backend.settings import PROJECT_ROOT

PY = sys.executable


def run(args, env=None, **kw):
    return subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, env=env, timeout=120, **kw)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "RASA_TOKEN"}}
    env.update(extra)
    return env


def test_find_python310_finds_a_310_interpreter():
    result = run(["scripts/find-python310.sh"])
    assert result.returncode == 0
    check = run([result.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"])
    assert check.stdout.strip() == "(3, 10)"


def test_find_python310_says_what_to_install_when_there_is_none(tmp_path):
    # A PATH with the shell tools the script uses and no Python and no pyenv at all.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "grep", "sort", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = run(
        [str(bin_dir / "bash"), "scripts/find-python310.sh"], env={"PATH": str(bin_dir), "HOME": str(tmp_path)}
    )
    assert result.returncode == 1
    assert "Python 3.10" in result.stderr and "pyenv install 3.10" in result.stderr
    assert "apt-get install python3.10" in result.stderr


def test_a_process_without_its_secret_names_the_variable(tmp_path):
    result = run([PY, "-m", "backend", "serve", "web"], env=clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/x.db"))
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def test_secrets_init_generates_once_and_keeps_them(tmp_path):
    target = tmp_path / "secrets.env"
    first = run([PY, "-m", "backend", "secrets", "init", "--file", str(target)], env=clean_env())
    assert first.returncode == 0
    content = target.read_text()
    assert "SECRET_KEY=" in content and "RASA_TOKEN=" in content
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    run([PY, "-m", "backend", "secrets", "init", "--file", str(target)], env=clean_env())
    assert target.read_text() == content


def test_a_port_in_use_is_reported_as_such(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = clean_env(SECRET_KEY="k", RASA_TOKEN="t", WEB_PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
        result = run([PY, "-m", "backend", "serve", "web"], env=env)
        preflight = run([PY, "-m", "backend", "preflight"], env=env)
    assert result.returncode == 1
    assert f"{port}" in result.stderr and "已被占用" in result.stderr and "WEB_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert preflight.returncode == 1 and "WEB_PORT" in preflight.stderr


def test_db_upgrade_and_demo_load_are_idempotent(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/demo.db")
    assert run([PY, "-m", "backend", "db", "upgrade"], env=env).returncode == 0
    first = run([PY, "-m", "backend", "demo", "load"], env=env)
    assert first.returncode == 0 and "已加载" in first.stdout
    assert run([PY, "-m", "backend", "db", "upgrade"], env=env).returncode == 0
    second = run([PY, "-m", "backend", "demo", "load"], env=env)
    assert "跳过" in second.stdout


def test_registry_import_of_a_broken_file_is_a_message(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("street: [unclosed", encoding="utf-8")
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/r.db")
    run([PY, "-m", "backend", "db", "upgrade"], env=env)
    result = run([PY, "-m", "backend", "registry", "import", str(bad)], env=env)
    assert result.returncode == 1 and "YAML" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("target", ["test", "run"])
def test_makefile_targets_exist(target):
    assert run(["make", "-n", target]).returncode == 0


def test_points_commands_from_volunteer_log_to_the_ranking_csv(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/points.db")
    for setup in (["db", "upgrade"], ["demo", "load"]):
        assert run([PY, "-m", "backend", *setup], env=env).returncode == 0

    def points(*args):
        return run([PY, "-m", "backend", "points", *args], env=env)

    logged = points("volunteer", "--member", "gm-fl-01", "--resident", "R0002", "--hours", "3", "--log-id", "cli-1")
    assert logged.returncode == 0 and "+15" in logged.stdout
    again = points("volunteer", "--member", "gm-fl-01", "--resident", "R0002", "--hours", "3", "--log-id", "cli-1")
    assert "未重复计分" in again.stdout
    refused = points("adjust", "--resident", "R0002", "--amount", "-5", "--reason", " ", "--by", "张")
    assert refused.returncode == 1 and "原因" in refused.stderr
    out = tmp_path / "ranking.csv"
    assert points("ranking", "--community", "fl", "--out", str(out)).returncode == 0
    csv_text = out.read_text(encoding="utf-8-sig")
    assert "吴**" in csv_text and "吴阿姨" not in csv_text and "本月积分之星" in csv_text
    balance = points("balance", "R0002")
    assert "积分 15" in balance.stdout and "志愿服务 3 小时" in balance.stdout


def test_a_department_reports_in_from_the_command_line(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/report.db")
    assert run([PY, "-m", "backend", "db", "upgrade"], env=env).returncode == 0
    assert run([PY, "-m", "backend", "demo", "load"], env=env).returncode == 0
    missing = run([PY, "-m", "backend", "tickets", "report-in", "GZ20990101-0001", "city-mgmt"], env=env)
    assert missing.returncode != 0 and "没有工单 GZ20990101-0001" in missing.stderr + missing.stdout

    from backend.db import make_engine, make_session_factory
    from backend.models import Ticket
    from backend.tickets.escalation import escalate
    from tests.factories import file_ticket

    engine = make_engine(env["DATABASE_URL"])
    sessions = make_session_factory(engine)
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        ticket = file_ticket(
            s, category="streetlight", description="学府街路灯坏了", place_text="学府街", entities={}, now=now
        )
        for _ in range(3):
            escalate(session=s, ticket=ticket, actor="system", why="超时", now=now)
        number = ticket.number
    done = run([PY, "-m", "backend", "tickets", "report-in", number.lower(), "city-mgmt"], env=env)
    assert done.returncode == 0, done.stderr
    assert "区城市管理局 已报到" in done.stdout
    with sessions() as s:
        assert s.query(Ticket).filter_by(number=number).one().status == "in_progress"
    engine.dispose()


def test_console_accounts_from_the_command_line(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/accounts.db")
    assert run([PY, "-m", "backend", "db", "upgrade"], env=env).returncode == 0
    assert run([PY, "-m", "backend", "demo", "load"], env=env).returncode == 0

    def accounts(*args, password=None):
        return run([PY, "-m", "backend", "accounts", *args], env=env, input=password)

    weak = accounts("add", "zhang", "--role", "admin", "--password-stdin", password="123\n")
    assert weak.returncode != 0 and "密码至少 10 位" in weak.stderr + weak.stdout
    unscoped = accounts("add", "li", "--role", "community_staff", "--password-stdin", password="a-long-password\n")
    assert unscoped.returncode != 0 and "--community" in unscoped.stderr + unscoped.stdout
    made = accounts(
        "add", "Zhang", "--role", "admin", "--name", "张敏", "--password-stdin", password="a-long-password\n"
    )
    assert made.returncode == 0 and "已开通 管理员账号 zhang" in made.stdout
    assert "zhang\t管理员\t张敏" in accounts("list").stdout
    assert accounts("disable", "zhang").returncode == 0
    assert "（已停用）" in accounts("list").stdout
