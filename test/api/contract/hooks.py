# Schemathesis hooks of test/api/contract.test.ts: value generators for the custom string formats of
# the OpenAPI document, whose rules a JSON Schema pattern cannot state (api/routes/schedules.ts):
# `cron` (field ranges, ordered ranges, positive steps), `time-zone` (the IANA database, any case)
# and `catchup-window` (a duration of at least 10s).
from hypothesis import strategies as st

import schemathesis

FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]


def cron_field(low, high):
    value = st.integers(low, high)
    ranged = st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}")
    step = st.integers(1, high - low + 1)
    item = st.one_of(
        st.just("*"),
        value.map(str),
        ranged,
        step.map(lambda k: f"*/{k}"),
        st.tuples(ranged, step).map(lambda rk: f"{rk[0]}/{rk[1]}"),
    )
    return st.lists(item, min_size=1, max_size=3).map(",".join)


CRON = st.one_of(
    st.sampled_from(MACROS),
    st.tuples(*(cron_field(low, high) for low, high in FIELDS)).map(" ".join),
)
TIME_ZONES = st.sampled_from(["America/Toronto", "UTC", "utc", "Europe/Paris", "Asia/Tokyo", "America/Vancouver", "Etc/GMT+5"])
CATCHUP_WINDOWS = st.one_of(
    st.integers(10, 86_400).map(lambda n: f"{n}s"),
    st.integers(1, 1_440).map(lambda n: f"{n}m"),
    st.tuples(st.integers(1, 48), st.integers(0, 59)).map(lambda hm: f"{hm[0]}h{hm[1]}m"),
    st.integers(1, 30).map(lambda n: f"{n}d"),
)

schemathesis.openapi.format("cron", CRON)
schemathesis.openapi.format("time-zone", TIME_ZONES)
schemathesis.openapi.format("catchup-window", CATCHUP_WINDOWS)
