"""The configuration of operators and webhooks: ``require_operator``, ``operator_idle_minutes``, ``[[webhooks]]``."""
from __future__ import annotations

import base64

import pytest

from station.config import from_dict
from station.domain.errors import ConfigError

KEY = base64.b64encode(b"k" * 32).decode()
HOOK = {"url": "https://erp.example/hooks/station", "secret": f"whsec_{KEY}"}


@pytest.mark.parametrize(("data", "says"), [
    pytest.param({"stations": [{"id": "a", "require_operater": True}]},
                 "unknown key 'require_operater': did you mean 'require_operator'?", id="misspelled_require"),
    pytest.param({"stations": [{"id": "a", "require_operator": "yes"}]}, "require_operator must be true or false",
                 id="require_not_a_flag"),
    pytest.param({"stations": [{"id": "a", "operator_idle_minutes": 0}]},
                 "operator_idle_minutes must be from 1 to 10080, not 0", id="idle_zero"),
    pytest.param({"webhooks": [{**HOOK, "secrt": "x"}]}, "[[webhooks]] #1: unknown key 'secrt': did you mean 'secret'?",
                 id="misspelled_secret"),
    pytest.param({"webhooks": [{**HOOK, "url": "ftp://erp.example/x"}]}, "url must be an http:// or https:// address",
                 id="not_http"),
    pytest.param({"webhooks": [{"url": HOOK["url"]}]}, "secret must be \"whsec_\"", id="no_secret"),
    pytest.param({"webhooks": [{**HOOK, "secret": "whsec_***"}]}, "is not base64", id="secret_not_base64"),
    pytest.param({"webhooks": [{**HOOK, "secret": "whsec_" + base64.b64encode(b"short").decode()}]},
                 "key is 5 bytes", id="secret_too_short"),
    pytest.param({"webhooks": [{**HOOK, "events": ["document.post"]}]},
                 "unknown event type 'document.post': did you mean 'document.posted'?", id="misspelled_event"),
    pytest.param({"webhooks": [{**HOOK, "events": []}]}, "events is empty", id="no_events"),
    pytest.param({"webhooks": [HOOK, HOOK]}, "two [[webhooks]] share one url", id="duplicate_url"),
    pytest.param({"webhooks": {"url": "x"}}, "webhooks must be a list of tables", id="not_a_list"),
])
def test_a_wrong_operator_or_webhook_key_is_refused_by_name(data, says, monkeypatch):
    """Guards against a typo leaving a station open without operators, or a webhook never called (or unsigned)."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError) as caught:
        from_dict(data)
    assert says in caught.value.message


def test_operator_and_webhook_settings_are_read():
    """Guards the typed sections: what the TOML says is what the station runs with (events default to all types)."""
    config = from_dict({"stations": [{"id": "goods-in", "require_operator": True, "operator_idle_minutes": 30},
                                     {"id": "till"}],
                        "webhooks": [{**HOOK, "events": ["document.posted", "serial.changed", "document.posted"]},
                                     {"url": "http://127.0.0.1:8080/h", "secret": HOOK["secret"]}]})
    goods_in, till = config.stations
    assert (goods_in.require_operator, goods_in.operator_idle_minutes) == (True, 30)
    assert (till.require_operator, till.operator_idle_minutes) == (False, None)
    first, second = config.webhooks
    assert first.events == ("document.posted", "serial.changed") and first.key == b"k" * 32
    assert second.events == ("document.posted", "serial.changed", "product.changed", "party.changed",
                             "location.changed")
