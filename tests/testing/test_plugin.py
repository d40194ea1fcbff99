"""The plug-in as a user's pytest loads it: from the `pytest11` entry point, in a run of its
own (pytester, in a subprocess) on a project that has nothing of Hooktide's suite."""

from __future__ import annotations

import pytest

from tests.testing import acme

pytest_plugins = ["pytester"]

USER_TESTS = """
from datetime import timedelta

from webhook_gateway.testing import KitFactory


async def test_a_sign_up_is_reminded_three_days_later(hooktide: KitFactory) -> None:
    async with hooktide(routes="hooktide.yaml") as kit:
        ack = await kit.send("signups", {"type": "user.created", "user": "ada"})
        assert ack.status == 202, ack
        await kit.sleep(timedelta(days=3))  # skipped, not waited
        assert await kit.result(ack) == "reminded ada"


async def test_a_forged_sign_up_is_refused(hooktide: KitFactory) -> None:
    async with hooktide(routes="hooktide.yaml") as kit:
        ack = await kit.send("signups", {"user": "eve"}, headers={"webhook-signature": "v1,AA=="})
        assert ack.status == 401
        print(f"time skipping: {kit.environment.supports_time_skipping}")
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project: README's plug-in, route file and tests (the server's kind printed)."""
    acme.write(pytester.path)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_signups=USER_TESTS)
    monkeypatch.delenv("HOOKTIDE_WORKER_MODULES", raising=False)  # this suite's examples
    return pytester


def test_pytest_loads_the_plugin_from_its_entry_point(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--trace-config", "--fixtures")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "PLUGIN registered: <module 'webhook_gateway.testing.plugin'*",
            "*fixtures defined from webhook_gateway.testing.plugin*",
            "hooktide_env *",
            "hooktide *",
        ]
    )


def test_a_users_tests_run_on_the_time_skipping_server(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*time skipping: True*"])


def test_the_dev_server_is_chosen_on_the_command_line(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "-s", "--hooktide-server=dev", "-k", "forged"
    )
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*time skipping: False*"])


def test_a_server_the_plugin_does_not_know_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nhooktide_server = cloud\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hooktide_server = 'cloud': use one of time-skipping, dev*"])
