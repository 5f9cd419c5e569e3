"""Missing third-party fixtures skip locally but fail in CI (CI=true), so a CI run without
../shared cannot pass by skipping everything that needs real data."""
import pytest

import conftest


def test_missing_fixture_skips_outside_ci(monkeypatch):
    monkeypatch.delenv('CI', raising=False)
    with pytest.raises(pytest.skip.Exception, match='is absent'):
        conftest.shared_fixture('no/such/fixture')


@pytest.mark.parametrize('value', ['true', 'True', '1'])
def test_missing_fixture_fails_in_ci(monkeypatch, value):
    monkeypatch.setenv('CI', value)
    with pytest.raises(pytest.fail.Exception, match='CI=true requires it'):
        conftest.shared_fixture('no/such/fixture')


def test_present_fixture_is_returned(monkeypatch, tmp_path):
    (tmp_path / 'here.txt').write_text('x')
    monkeypatch.setattr(conftest, 'SHARED_FIXTURES', tmp_path)
    monkeypatch.setenv('CI', 'true')
    assert conftest.shared_fixture('here.txt') == tmp_path / 'here.txt'
