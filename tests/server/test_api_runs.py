"""``GET /runs``, ``/runs/metric-names`` and ``/runs/{id}`` against a real Jupyter server and a
real SQLite store filled through the store API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mm_api_data import ApiData, fill_store, get_json, store_location

from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def api_data(jp_root_dir: Path) -> ApiData:
    return fill_store(jp_root_dir)


def unique_prefix(run_id: str, all_ids: list[str]) -> str:
    """The shortest prefix (4+ characters) of ``run_id`` that no other id shares; ULIDs made
    in the same millisecond differ only in their last characters."""
    prefix = next(
        run_id[:n] for n in range(4, 27) if sum(i.startswith(run_id[:n]) for i in all_ids) == 1
    )
    assert len(prefix) < len(run_id)
    return prefix


async def page_through(jp_fetch, **params) -> tuple[list[dict], int]:
    """Every row of a listing, following next_token to the end; (rows, pages)."""
    rows, pages, token = [], 0, None
    while True:
        query = dict(params, **({"page_token": token} if token else {}))
        status, body = await get_json(jp_fetch, "runs", **query)
        assert status == 200, body
        rows += body["runs"]
        pages += 1
        token = body["next_token"]
        if token is None:
            return rows, pages
        assert pages < 100, "paging does not end"


async def test_first_page_is_newest_first_with_summaries(jp_fetch, api_data: ApiData) -> None:
    status, body = await get_json(jp_fetch, "runs")
    assert status == 200
    assert body["next_token"] is None  # 34 runs < the default limit of 50
    ids = [row["id"] for row in body["runs"]]
    assert ids == list(reversed(api_data.all_ids))

    newest = body["runs"][0]
    assert newest["id"] == api_data.edited_id
    assert "execution_log" not in newest
    assert newest["notebook_relpath"] == "nb/train.ipynb"
    assert newest["notebook_path"] == str(api_data.root / "nb" / "train.ipynb")
    assert newest["status"] == "finished" and newest["end_time"] - newest["start_time"] == 12.5
    assert newest["flag_count"] == 1 and newest["warning_count"] == 1
    assert newest["flags"][0]["kind"] == "out_of_order"
    # without `metrics`, every metric (non-finite ones as strings, since JSON has no NaN)
    assert newest["metrics"] == {"loss": 0.3, "acc": 0.53, "grad_norm": "nan"}

    by_id = {row["id"]: row for row in body["runs"]}
    assert by_id[api_data.outside_id]["notebook_relpath"] is None
    assert by_id[api_data.bare_id]["metrics"] == {}
    assert by_id[api_data.all_ids[0]]["notebook_relpath"] == "other.ipynb"


async def test_requested_metric_columns_only(jp_fetch, api_data: ApiData) -> None:
    _, body = await get_json(jp_fetch, "runs", metrics="acc, loss,acc,missing", limit="2")
    assert [row["metrics"] for row in body["runs"]] == [
        {"acc": 0.53, "loss": 0.3},
        {"acc": 0.54, "loss": 0.4},
    ]
    _, body = await get_json(jp_fetch, "runs", metrics="", limit="2")
    assert [row["metrics"] for row in body["runs"]] == [{}, {}]


@pytest.mark.parametrize("order", ["newest", "oldest"])
async def test_paging_to_the_end_with_filters(jp_fetch, api_data: ApiData, order: str) -> None:
    expected = [
        run_id
        for run_id in api_data.runs_by_notebook["nb/train.ipynb"]
        if api_data.status_of[run_id] == "finished"
    ]
    if order == "newest":
        expected.reverse()
    assert len(expected) > 8  # several pages of 3

    rows, pages = await page_through(
        jp_fetch, notebook="nb/train.ipynb", status="finished", order=order, limit="3"
    )
    assert [row["id"] for row in rows] == expected
    assert pages == -(-len(expected) // 3)
    assert {row["notebook_relpath"] for row in rows} == {"nb/train.ipynb"}


async def test_notebook_filter_accepts_relative_and_absolute_paths(
    jp_fetch, api_data: ApiData
) -> None:
    relative, _ = await page_through(jp_fetch, notebook="other.ipynb", limit="200")
    absolute, _ = await page_through(
        jp_fetch, notebook=str(api_data.root / "other.ipynb"), limit="200"
    )
    dotted, _ = await page_through(jp_fetch, notebook="nb/../other.ipynb", limit="200")
    expected = list(reversed(api_data.runs_by_notebook["other.ipynb"]))
    assert [r["id"] for r in relative] == [r["id"] for r in absolute] == expected
    assert [r["id"] for r in dotted] == expected

    outside, _ = await page_through(jp_fetch, notebook="/elsewhere/c.ipynb")
    assert [r["id"] for r in outside] == [api_data.outside_id]
    nothing, _ = await page_through(jp_fetch, notebook="no/such.ipynb")
    assert nothing == []


async def test_text_search(jp_fetch, api_data: ApiData) -> None:
    async def found(text: str) -> list[str]:
        rows, _ = await page_through(jp_fetch, q=text, limit="200")
        return [row["id"] for row in rows]

    assert await found("LR=0.05") == [api_data.edited_id]
    assert await found("first try") == [api_data.base_id]  # the note
    # the newest run was created milliseconds after the others: a short prefix is unique
    assert await found(unique_prefix(api_data.edited_id, api_data.all_ids).lower()) == [
        api_data.edited_id
    ]
    assert await found("elsewhere") == [api_data.outside_id]  # the notebook path
    assert await found("100%_") == []  # LIKE wildcards are literal


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"status": "exploded"}, "status"),
        ({"order": "sideways"}, "order"),
        ({"page_token": "not-a-token"}, "page token"),
        ({"notebook": ""}, "notebook"),
        ({"metrics": ",".join(f"m{i}" for i in range(51))}, "metric columns"),
        ({"q": "x" * 501}, "'q'"),
        ({"order": "metric:"}, "metric order"),
        ({"order": "metric"}, "order"),
        ({"metric_filter": "loss"}, "metric filter"),
        ({"metric_filter": "loss=>1"}, "metric filter"),
        ({"metric_filter": "loss>=ten"}, "metric filter"),
        ({"metric_filter": "loss>=nan"}, "metric filter"),
        ({"metric_filter": "loss>=1e999"}, "metric filter"),
        ({"metric_filter": "loss>0,acc"}, "'acc'"),
        ({"metric_filter": ",".join(f"m{i}>0" for i in range(11))}, "metric filters"),
        ({"metric_filter": "x" * 501 + ">1"}, "'metric_filter'"),
    ],
)
async def test_bad_query_parameters_are_400_with_a_sentence(
    jp_fetch, api_data: ApiData, params: dict, fragment: str
) -> None:
    status, body = await get_json(jp_fetch, "runs", **params)
    assert status == 400
    assert body["error"]["status"] == 400
    message = body["error"]["message"]
    assert fragment in message and message.endswith(".")
    assert "Traceback" not in message and str(api_data.root) not in message


async def test_a_token_of_another_order_is_refused(jp_fetch, api_data: ApiData) -> None:
    _, first = await get_json(jp_fetch, "runs", limit="5", order="newest")
    status, body = await get_json(
        jp_fetch, "runs", limit="5", order="oldest", page_token=first["next_token"]
    )
    assert status == 400 and "page token" in body["error"]["message"]


async def test_metric_names(jp_fetch, api_data: ApiData) -> None:
    assert await get_json(jp_fetch, "runs", "metric-names") == (
        200,
        {"names": ["acc", "grad_norm", "loss"]},
    )
    assert await get_json(jp_fetch, "runs", "metric-names", notebook="other.ipynb") == (
        200,
        {"names": ["loss"]},
    )
    status, body = await get_json(jp_fetch, "runs", "metric-names", notebook="")
    assert status == 400 and "notebook" in body["error"]["message"]


async def test_run_detail_by_id_prefix_and_latest(jp_fetch, api_data: ApiData) -> None:
    status, body = await get_json(jp_fetch, "runs", api_data.base_id)
    assert status == 200
    with open_store(store_location(api_data.root)) as store:
        expected = json.loads(
            json.dumps(store.get_run_detail(api_data.base_id).to_dict(), allow_nan=True)
        )
    assert body["run"].pop("notebook_relpath") == "nb/train.ipynb"
    nan_points = [m for m in expected["metrics"] if m["name"] == "grad_norm"]
    assert len(nan_points) == 1
    nan_points[0]["value"] = "nan"  # the wire spelling of NaN
    assert body == expected
    assert [a["name"] for a in body["artifacts"]] == ["model.pkl", "reports/ünïcode report.html"]
    assert body["environment"]["packages"]["scikit-learn"] == "1.5.0"
    assert [e["cell_id"] for e in body["run"]["execution_log"]] == ["load", "train"]
    assert [o["output_type"] for o in body["outputs"]] == ["stream", "display_data"]
    assert body["outputs"][1]["data"]["text/html"].count("<tr>") == 20  # resolved from its blob

    unique = unique_prefix(api_data.edited_id, api_data.all_ids)
    _, by_prefix = await get_json(jp_fetch, "runs", unique.lower())
    assert by_prefix["run"]["id"] == api_data.edited_id
    _, latest = await get_json(jp_fetch, "runs", "latest")
    assert latest["run"]["id"] == api_data.edited_id


async def test_run_detail_errors(jp_fetch, api_data: ApiData) -> None:
    status, body = await get_json(jp_fetch, "runs", "0" * 26)
    assert status == 404 and body["error"]["message"].endswith(".")

    # ULIDs made within the same second share their leading characters
    prefix = api_data.all_ids[0][:6]
    assert sum(run_id.startswith(prefix) for run_id in api_data.all_ids) > 1
    status, body = await get_json(jp_fetch, "runs", prefix)
    assert status == 400 and body["error"]["status"] == 400

    # not an id at all: no route matches, the API's catch-all answers in JSON
    status, body = await get_json(jp_fetch, "runs", "a-b")
    assert status == 404 and "no endpoint" in body["error"]["message"]


async def all_rows(jp_fetch) -> list[dict]:
    rows, _ = await page_through(jp_fetch, limit="200", metrics="loss,acc,grad_norm")
    return rows


@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_order_by_a_metric_pages_to_the_end(
    jp_fetch, api_data: ApiData, direction: str
) -> None:
    everything = await all_rows(jp_fetch)
    with_loss = [(row["metrics"]["loss"], row["id"]) for row in everything if row["metrics"]]
    expected = [run_id for _, run_id in sorted(with_loss, reverse=direction == "desc")]
    assert len(expected) == 32  # the bare and the outside run have no loss: not listed
    rows, pages = await page_through(jp_fetch, order=f"metric:loss:{direction}", limit="5")
    assert [row["id"] for row in rows] == expected and pages == 7
    # the same with the default direction (descending) and only the sorted column
    if direction == "desc":
        rows, _ = await page_through(jp_fetch, order="metric:loss", metrics="loss", limit="9")
        assert [row["id"] for row in rows] == expected
        assert [row["metrics"]["loss"] for row in rows] == sorted(
            (v for v, _ in with_loss), reverse=True
        )
    # grad_norm is NaN at its latest step: ordered by it, nothing is listed
    rows, _ = await page_through(jp_fetch, order="metric:grad_norm")
    assert rows == []


async def test_metric_filters_with_the_other_filters(jp_fetch, api_data: ApiData) -> None:
    everything = await all_rows(jp_fetch)

    def expected(test, **fields: str) -> list[str]:
        return [
            row["id"]
            for row in everything
            if row["metrics"].get("loss") is not None
            and test(row["metrics"]["loss"])
            and all(row[k] == v for k, v in fields.items())
        ]

    rows, _ = await page_through(jp_fetch, metric_filter="loss<0.1", limit="4")
    want = expected(lambda v: v < 0.1)
    assert [row["id"] for row in rows] == want and len(want) > 4
    # repeated parameters and comma-separated filters are AND-ed alike
    repeated, token = [], None
    while True:
        query = [("metric_filter", "loss>0.05"), ("metric_filter", "loss<=0.2")]
        query += [("limit", "3"), ("status", "finished")]
        response = await jp_fetch(
            "jupyter-mm", "api", "runs", params=query + ([("page_token", token)] if token else [])
        )
        body = json.loads(response.body)
        repeated += [row["id"] for row in body["runs"]]
        token = body["next_token"]
        if token is None:
            break
    commas, _ = await page_through(
        jp_fetch, metric_filter="loss > 0.05, loss <= 0.2", status="finished", limit="3"
    )
    want = expected(lambda v: 0.05 < v <= 0.2, status="finished")
    assert repeated == [row["id"] for row in commas] == want and len(want) > 3
    # with a notebook filter and a metric order on another metric than the filter's
    rows, _ = await page_through(
        jp_fetch,
        notebook="nb/train.ipynb",
        metric_filter="acc>=0.5",
        order="metric:loss:asc",
    )
    assert [row["id"] for row in rows] == [api_data.edited_id, api_data.base_id]
    rows, _ = await page_through(jp_fetch, metric_filter="grad_norm>=0,grad_norm<0")
    assert rows == []  # NaN matches no comparison


async def test_a_metric_order_token_is_refused_elsewhere(jp_fetch, api_data: ApiData) -> None:
    _, first = await get_json(jp_fetch, "runs", limit="5", order="metric:loss:desc")
    for order in ("newest", "metric:loss:asc", "metric:acc:desc"):
        status, body = await get_json(
            jp_fetch, "runs", limit="5", order=order, page_token=first["next_token"]
        )
        assert status == 400 and "page token" in body["error"]["message"], order
