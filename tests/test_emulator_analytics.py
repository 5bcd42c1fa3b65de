"""The emulator's GraphQL analytics (POST /client/v4/graphql), driven by the portal's StreamClient over HTTP."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from portal.emulator.analytics import ViewLog
from portal.services.stream import StreamClient, StreamError

ACCOUNT = "emulator-account"
TOKEN = "emulator-token"
EXTINF = re.compile(r"#EXTINF:([0-9.]+),\s*\n(\S+)")


def make_client(server, **overrides):
    kwargs = dict(
        api_base=server.api_base,
        account_id=ACCOUNT,
        api_token=TOKEN,
        customer_base_url=server.url,
        graphql_url=f"{server.api_base}/graphql",
        max_retries=0,
        sleep=lambda s: None,
    )
    kwargs.update(overrides)
    return StreamClient(**kwargs)


@pytest.fixture
def client(emulator):
    c = make_client(emulator)
    yield c
    c.close()


def today():
    return datetime.now(UTC).date()


def ready_upload(client, sample_video, title):
    uid = client.upload_video(sample_video, {"title": title})["uid"]
    for _ in range(600):
        video = client.get_video(uid)
        if video["status"]["state"] in ("ready", "error"):
            break
        time.sleep(0.05)
    assert video["status"]["state"] == "ready", video["status"]
    return uid


def watch_hls(http, client, uid):
    """Fetch the master playlist, the media playlist and every segment; the seconds the segments last."""
    master = http.get(client.hls_url(uid), timeout=10)
    assert master.status_code == 200
    media_name = next(line for line in master.text.splitlines() if line.endswith(".m3u8"))
    base = client.hls_url(uid).rsplit("/", 1)[0]
    media = http.get(f"{base}/{media_name}", timeout=10)
    segments = EXTINF.findall(media.text)
    assert segments
    for _, name in segments:
        assert http.get(f"{base}/{name}", timeout=10).status_code == 200
    return sum(float(seconds) for seconds, _ in segments)


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def test_minutes_viewed_count_the_hls_segments_served(emulator, client, http, sample_video):
    watched = ready_upload(client, sample_video, "Watched")
    other = ready_upload(client, sample_video, "Other")
    seconds = watch_hls(http, client, watched)
    watch_hls(http, client, watched)  # watched twice: counted twice
    other_seconds = watch_hls(http, client, other)
    assert seconds > 0

    stats = client.get_video_analytics(watched, today() - timedelta(days=7), today())
    assert stats["minutes_viewed"] == pytest.approx(2 * seconds / 60, abs=1e-5)
    assert stats["by_date"] == [{"date": today().isoformat(), "minutes_viewed": stats["minutes_viewed"]}]
    assert client.get_video_analytics(other, today(), today())["minutes_viewed"] == pytest.approx(
        other_seconds / 60, abs=1e-5
    )

    earlier = client.get_video_analytics(watched, today() - timedelta(days=20), today() - timedelta(days=1))
    assert earlier["minutes_viewed"] == 0 and earlier["by_date"] == []

    # Kept with the emulator's state: a fresh view log over the same directory reads the same numbers.
    reloaded = {(uid, day): s for uid, day, s in ViewLog(emulator.emulator.state_dir).rows()}
    assert reloaded[(watched, today().isoformat())] == pytest.approx(2 * seconds)


def test_dash_counts_video_segments_only_and_progressive_ranges_their_share(
    emulator, client, http, sample_video
):
    uid = ready_upload(client, sample_video, "Dash")
    base = f"{emulator.url}/{uid}/manifest"
    mpd = http.get(f"{base}/video.mpd", timeout=10).text
    video_timeline = re.search(r'timescale="(\d+)"[^>]*>\s*<SegmentTimeline>\s*<S t="0" d="(\d+)"', mpd)
    assert video_timeline
    first_chunk = int(video_timeline.group(2)) / int(video_timeline.group(1))
    for name in (
        "init-stream0.m4s",
        "init-stream1.m4s",
        "chunk-stream0-00001.m4s",
        "chunk-stream1-00001.m4s",
    ):
        assert http.get(f"{base}/{name}", timeout=10).status_code == 200
    assert http.head(f"{base}/chunk-stream0-00001.m4s", timeout=10).status_code == 200  # HEAD counts nothing
    minutes = client.get_video_analytics(uid, today(), today())["minutes_viewed"]
    assert minutes == pytest.approx(first_chunk / 60, abs=1e-5)

    progressive = f"{emulator.url}/{uid}/__emulator__/video.mp4"
    size = len(http.get(progressive, timeout=10).content)
    half = http.get(progressive, headers={"Range": f"bytes=0-{size // 2 - 1}"}, timeout=10)
    assert half.status_code == 206
    duration = client.get_video(uid)["duration"]
    after = client.get_video_analytics(uid, today(), today())["minutes_viewed"]
    assert after - minutes == pytest.approx(duration * (1 + (size // 2) / size) / 60, abs=1e-5)


def test_graphql_answers_in_cloudflares_shape_with_uid_and_date_dimensions(
    emulator, client, http, sample_video
):
    uid = ready_upload(client, sample_video, "Shape")
    seconds = watch_hls(http, client, uid)
    query = f"""query ($tag: string!) {{ viewer {{ accounts(filter: {{accountTag: $tag}}) {{
      streamMinutesViewedAdaptiveGroups(filter: {{date_geq: "{today()}", date_lt: "{today() + timedelta(days=1)}"}}, limit: 10,
                                        orderBy: [sum_minutesViewed_DESC]) {{
        sum {{ minutesViewed }} dimensions {{ uid date }} }} }} }} }}"""
    answer = http.post(
        f"{emulator.api_base}/graphql",
        json={"query": query, "variables": {"tag": ACCOUNT}},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "data": {
            "viewer": {
                "accounts": [
                    {
                        "streamMinutesViewedAdaptiveGroups": [
                            {
                                "sum": {"minutesViewed": round(seconds / 60, 6)},
                                "dimensions": {"uid": uid, "date": today().isoformat()},
                            },
                        ]
                    }
                ]
            }
        },
        "errors": None,
    }


def test_bad_token_is_refused_with_code_10000(emulator):
    bad = make_client(emulator, api_token="wrong-token")
    with pytest.raises(StreamError) as info:
        bad.get_video_analytics("0" * 32, today(), today())
    bad.close()
    assert info.value.status_code == 401 and info.value.codes == [10000]


def test_malformed_body_is_a_400_envelope(emulator, http):
    response = http.post(
        f"{emulator.api_base}/graphql",
        data=b"{not json",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["errors"][0]["code"] == 10004


@pytest.mark.parametrize(
    "query, variables, message",
    [
        ("{ viewer { zones { httpRequestsAdaptiveGroups { count } } } }", {}, "answers only"),
        (
            '{ viewer { accounts(filter: {accountTag: "someone-else"}) { streamMinutesViewedAdaptiveGroups'
            "(limit: 5) { sum { minutesViewed } } } } }",
            {},
            "not authorized",
        ),
        (
            "query ($a: string!) { viewer { accounts(filter: {accountTag: $a}) { streamMinutesViewedAdaptiveGroups"
            '(limit: 5, filter: {clientCountryName: "FR"}) { sum { minutesViewed } } } } }',
            {"a": ACCOUNT},
            "unknown filter field",
        ),
        (
            "query ($a: string!) { viewer { accounts(filter: {accountTag: $a}) { streamMinutesViewedAdaptiveGroups"
            "(limit: 5, filter: {uid: $missing}) { sum { minutesViewed } } } } }",
            {"a": ACCOUNT},
            "$missing",
        ),
    ],
)
def test_queries_it_does_not_understand_are_graphql_errors(emulator, http, query, variables, message):
    response = http.post(
        f"{emulator.api_base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None and message in body["errors"][0]["message"]


def test_client_raises_on_a_graphql_error(emulator, client):
    other_account = make_client(emulator, account_id="someone-else")
    with pytest.raises(StreamError, match="not authorized"):
        other_account.get_video_analytics("0" * 32, today(), today())
    other_account.close()
