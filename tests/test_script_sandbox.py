"""UP-02 / spiffworkflow.md §7: BPMN scripts and expressions cannot escape the sandbox or exhaust the server.

Each payload runs three ways: through RestrictedEnvironment directly, as the script task of a real workflow and
(for expressions) as a gateway condition. The workflow layer is parsed without the upload checks, so the runtime
sandbox is tested on its own. A payload that escaped would create the canary file. Pure engine tests: no database.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser import VALIDATOR
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from processes.engine import runtime as wfops
from processes.engine.runtime import new_workflow
from processes.engine.script_compiler import compile_checked
from processes.engine.script_engine import HotlineScriptEngine
from processes.engine.script_environment import RestrictedEnvironment
from processes.engine.snapshot import dump_workflow
from processes.errors import ScriptRejected
from tests.support import TEST_BPMN

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
TIME_LIMIT = 2.0  # per payload: a guard against hangs, not a benchmark
# What a refused payload may raise: our rejection, RestrictedPython's format guard, a name that is not there,
# or RestrictedPython's capped range(). Never a TypeError from a crashing error formatter.
REJECTIONS: tuple[type[BaseException], ...] = (PermissionError, NameError, NotImplementedError, ValueError)
REJECTION_NAMES = {"ScriptRejected", "NameError", "NotImplementedError", "ValueError"}


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    """Turn a hang into a failure: SIGALRM after 30 s (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(_signum: int, _frame: Any) -> None:
        raise TimeoutError("the sandbox let a payload run for 30 s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    """A file only a successful escape could create."""
    path = tmp_path / "escaped"
    yield path
    assert not path.exists(), "a payload escaped the sandbox"


@dataclass(frozen=True)
class Payload:
    """An escape or exhaustion attempt; `static` ones are refused before running (so also at upload)."""

    id: str
    source: str
    mode: str = "eval"  # eval: an expression (also tried as `result = …` and as a condition); exec: statements
    static: bool = True


SHARED = "[[big for i in range(99)] for j in range(999)]"  # 98,901 references to one 50,000-character string
WALK = "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
PAYLOADS = [
    Payload("import_call", "__import__('os').system('touch {canary}')"),
    Payload("import_statement", "import os\nos.system('touch {canary}')", "exec"),
    Payload("from_import", "from os import system\nsystem('touch {canary}')", "exec"),
    Payload("open_write", "open('{canary}', 'w').write('x')"),
    Payload("open_passwd", "open('/etc/passwd').read()"),
    Payload("subclass_walk", WALK + ".__init__.__globals__['system']('touch {canary}')"),
    Payload("subclass_walk_mro", "str.mro()[1].__subclasses__()"),
    Payload("getattr_dunder", "getattr(getattr(x, '__class__'), '__base__')"),
    Payload("format_attribute_leak", "'{0.__class__.__base__}'.format(1)"),
    Payload("format_map_leak", "'{a.__class__}'.format_map({'a': 1})"),
    Payload("str_format_map_unbound", "str.format_map('{a.__class__}', {'a': 1})"),
    Payload("str_format_unbound", "str.format('{0.__class__}', 1)"),
    Payload("string_formatter", "string.Formatter().vformat('{0.__class__}', [1], {})", static=False),
    Payload("string_formatter_get_field", "Formatter().get_field('0.__class__', [1], {})", static=False),
    Payload("fstring_attribute", "f'{x.__class__.__base__}'"),
    Payload("fstring_nested_spec", "f'{x:{x.__class__}}'"),
    Payload("type_call", "type(x)"),
    Payload("type_subclasses", "type(x).__subclasses__(type(x))"),
    Payload("vars", "vars()"),
    Payload("globals", "globals()['__builtins__']"),
    Payload("locals", "locals()"),
    Payload("dir", "dir()"),
    Payload("eval", "eval('1 + 1')"),
    Payload("exec", "exec('import os')"),
    Payload("compile", "compile('1', 'x', 'eval')"),
    Payload("builtins_item", "__builtins__['__import__']('os')"),
    Payload("builtins_attribute", "__builtins__.open"),
    Payload("generator_frame", "(i for i in [1]).gi_frame.f_back.f_globals"),
    Payload("exception_traceback", "try:\n    1 / 0\nexcept Exception as e:\n    g = e.__traceback__.tb_frame", "exec"),
    Payload("raise_system_exit", "raise SystemExit(1)", "exec", static=False),
    Payload("raise_keyboard_interrupt", "raise KeyboardInterrupt", "exec", static=False),
    Payload("input_blocks", "input()"),
    Payload("breakpoint", "breakpoint()"),
    Payload("lambda", "(lambda: 1)()"),
    Payload("def", "def f():\n    return 1", "exec"),
    Payload("class", "class A:\n    pass", "exec"),
    Payload("while_true", "while True:\n    pass", "exec"),
    Payload("power_tower", "10**10**10"),
    Payload("string_repeat", "'x'*10**9"),
    Payload("list_repeat", "[0]*10**9"),
    Payload("large_int_constant", "100000000000000000000"),
    Payload("large_int_negative", "-99999999999"),
    # resource exhaustion through values that only exist at run time
    Payload("data_string_repeat", "s * n", static=False),
    Payload("data_list_repeat", "items * n", static=False),
    Payload("data_power", "2 ** n"),
    Payload("pow_builtin", "pow(10, n)"),
    Payload("data_shift", "1 << n", static=False),
    Payload("ljust_padding", "s.ljust(n)", static=False),
    Payload("zfill_padding", "s.zfill(n)", static=False),
    Payload("percent_width", "'%1000000000d' % 1", static=False),
    Payload("fstring_width", "f'{1:>1000000000}'"),
    Payload("replace_blowup", "big.replace('', big)", static=False),
    Payload("join_blowup", "''.join([big for i in range(999)])", static=False),
    Payload("expandtabs", "s.expandtabs(n)"),
    Payload("translate", "s.translate({97: s})"),
    Payload("range_huge", "list(range(n))", static=False),
    Payload("nested_loops_999_cubed", "[1 for a in range(999) for b in range(999) for c in range(999)]",
            static=False),
    Payload("doubling_concat", "t = 'x'\nfor i in range(60):\n    t = t + t", "exec", static=False),
    Payload("doubling_augmented", "t = 'x'\nfor i in range(60):\n    t += t", "exec", static=False),
    Payload("doubling_extend", "a = [1]\nfor i in range(60):\n    a.extend(a)", "exec", static=False),
    Payload("doubling_slice_assign", "a = [1]\nfor i in range(60):\n    a[len(a):] = a", "exec", static=False),
    Payload("squaring_int", "y = 2\nfor i in range(60):\n    y = y * y", "exec", static=False),
    Payload("sum_of_lists", "sum([[big] for i in range(999)], [])", static=False),
    Payload("cyclic_data", "a = []\na.append(a)", "exec", static=False),
    Payload("shared_reference_bomb", "a = [1]\nfor i in range(60):\n    a = [a, a]", "exec", static=False),
    Payload("str_of_shared_references", "len(str({shared}))", static=False),
    Payload("fstring_of_shared_references", "len(f'{{shared}}')", static=False),
    Payload("percent_of_shared_references", "len('%s' % ({shared},))", static=False),
    Payload("str_alias_of_shared_references", "f = str\nr = f({shared})", "exec", static=False),
    Payload("sort_key_str_of_shared_references", "sorted([{shared}, [1]], key=str)", static=False),
    Payload("repr_of_shared_references", "repr({shared})", static=False),
    Payload("script_too_long", "x = 1\n" * 1000, "exec"),
    Payload("expression_too_long", "1" + " + 1" * 200),
]


def data() -> dict[str, Any]:
    """Task data the payloads see: n is huge, as a form field could be."""
    return {"x": 1, "n": 10**9, "s": "a\tb", "big": "x" * 50_000, "items": [1, 2], "raw_tags": [" 夜间 ", "施工"],
            "category": "噪音扰民", "urgency": 2}


def render(payload: Payload, canary: Path) -> str:
    """The payload source with the canary path filled in."""
    return payload.source.replace("{canary}", str(canary)).replace("{shared}", SHARED)


def as_script(payload: Payload, source: str) -> str:
    """An expression becomes an assignment; statements stay as they are."""
    return f"result = ({source})" if payload.mode == "eval" else source


def probe_spec(script: str | None = None, condition: str | None = None) -> Any:
    """tests/bpmn/sandbox_probe.bpmn with its script or condition replaced, parsed WITHOUT the upload checks."""
    root = etree.fromstring((TEST_BPMN / "sandbox_probe.bpmn").read_bytes())
    if script is not None:
        root.find(".//bpmn:scriptTask[@id='classify']/bpmn:script", NS).text = script  # type: ignore[union-attr]
    if condition is not None:
        flow = root.find(".//bpmn:sequenceFlow[@id='to_urgent']/bpmn:conditionExpression", NS)
        flow.text = condition  # type: ignore[union-attr]
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_xml(root, filename="sandbox_probe.bpmn")
    return parser.get_spec("sandbox_probe")


def engine() -> HotlineScriptEngine:
    """The production script engine, without a handler registry."""
    return HotlineScriptEngine(RestrictedEnvironment(), None)


def run_probe(start_data: dict[str, Any], **replace: str) -> Any:
    """Start the probe workflow and run it to its first wait state."""
    return new_workflow(probe_spec(**replace), {}, start_data, engine())


def assert_refused_in_workflow(exc: WorkflowTaskException) -> None:
    """A clear, wrapped rejection: a known error type, a message, and nothing read from /etc/passwd."""
    assert exc.error_type in REJECTION_NAMES, (exc.error_type, str(exc))
    assert str(exc).strip()
    assert "root:x:0:0" not in str(exc)


# --- escapes ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.id)
def test_payload_fails_in_the_environment(payload: Payload, canary: Path) -> None:
    env = RestrictedEnvironment()
    source = render(payload, canary)
    attempts = [("exec", as_script(payload, source))] + ([("eval", source)] if payload.mode == "eval" else [])
    for mode, text in attempts:
        context = data()
        started = time.perf_counter()
        with pytest.raises(REJECTIONS) as info:
            if mode == "eval":
                env.evaluate(text, context)
            else:
                env.execute(text, context)
        assert time.perf_counter() - started < TIME_LIMIT, f"{payload.id} ({mode}) ran too long"
        assert "root:x:0:0" not in str(info.value)
        if mode == "exec":
            assert "result" not in context and "t" not in context and "a" not in context


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if p.static], ids=lambda p: p.id)
def test_static_payload_is_refused_before_it_runs(payload: Payload, canary: Path) -> None:
    """The same check runs at upload (bundle.parse_bundle), so these never reach a deployed diagram."""
    source = render(payload, canary)
    with pytest.raises(ScriptRejected):
        compile_checked(as_script(payload, source), "exec")
    if payload.mode == "eval":
        with pytest.raises(ScriptRejected):
            compile_checked(source, "eval")


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.id)
def test_payload_fails_as_a_script_task(payload: Payload, canary: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(WorkflowTaskException) as info:
        run_probe(data(), script=as_script(payload, render(payload, canary)))
    assert time.perf_counter() - started < TIME_LIMIT
    assert_refused_in_workflow(info.value)
    assert info.value.task is not None and info.value.task.task_spec.bpmn_id == "classify"


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if p.mode == "eval"], ids=lambda p: p.id)
def test_payload_fails_as_a_gateway_condition(payload: Payload, canary: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(WorkflowTaskException) as info:
        run_probe(data(), script="score = 1", condition=render(payload, canary))
    assert time.perf_counter() - started < TIME_LIMIT
    assert_refused_in_workflow(info.value)
    assert "failed" in str(info.value) or "rejected" in str(info.value)


def test_a_refused_script_leaves_the_task_in_error_and_data_untouched() -> None:
    wf = BpmnWorkflow(probe_spec(script="import os"), {}, script_engine=engine())
    wf.get_next_task(state=TaskState.READY).data.update(data())
    with pytest.raises(WorkflowTaskException):
        wf.do_engine_steps()
    [failed] = [t for t in wfops.all_tasks(wf) if t.state == TaskState.ERROR]
    assert failed.task_spec.bpmn_id == "classify"
    assert wfops.outcome(wf).status == "error"
    assert "os" not in failed.data


# --- error reporting (SpiffWorkflow 3.2.0's formatter crashed on these) -----------------------------------------

@pytest.mark.parametrize(("script", "error_type", "line"), [
    ("d = {}\nv = d[1]", "KeyError", 2),
    ("raise ValueError(1)", "ValueError", 1),
    ("x = 1\nassert False, 5", "AssertionError", 2),
    ("raise SyntaxError('x')", "NameError", 1),  # SyntaxError is not in the sandbox's builtins
    ("y = undefined_name + 1", "NameError", 1),
    (f"x = {SHARED}\nraise ValueError(x)", "ValueError", 2),
])
def test_script_errors_are_reported_not_crashed(script: str, error_type: str, line: int) -> None:
    with pytest.raises(WorkflowTaskException) as info:
        run_probe(data(), script=script)
    assert info.value.error_type == error_type
    assert info.value.line_number == line
    assert error_type in str(info.value)


@pytest.mark.parametrize(("script", "problem"), [
    ("r = range(3)", "range"),
    ("e = ValueError('x')", "ValueError"),
    ("g = (i for i in [1])", "generator"),
    ("b = 'x'.encode()", "bytes"),
    ("k = {(1, 2): 3}", "keys"),
    ("a = []\na.append(a)", "contains itself"),
    ("a = [1]\nfor i in range(60):\n    a = [a, a]", "too large or nested too deep"),
    ("a = []\nfor i in range(200):\n    a = [a]", "too large or nested too deep"),
])
def test_values_the_snapshot_cannot_store_are_refused(script: str, problem: str) -> None:
    with pytest.raises(WorkflowTaskException) as info:
        run_probe(data(), script=script)
    assert info.value.error_type == "ScriptRejected"
    assert problem in str(info.value)


# --- normal data scripts still work ----------------------------------------------------------------------------

@pytest.mark.parametrize(("script", "start", "expected"), [
    ("names = [n.strip().upper() for n in raw if n.strip()]", {"raw": [" a ", "", "b"]}, {"names": ["A", "B"]}),
    ("counts = {k: len(v) for k, v in groups.items()}", {"groups": {"x": [1, 2], "y": []}},
     {"counts": {"x": 2, "y": 0}}),
    ("d = {}\nd['k'] = 1\nd['n'] = d['k'] + 1", {}, {"d": {"k": 1, "n": 2}}),
    ("info['a']['b'] = 2", {"info": {"a": {}}}, {"info": {"a": {"b": 2}}}),
    ("total = 0\nfor v in values:\n    total += v", {"values": [1, 2, 3]}, {"total": 6}),
    ("a, b = pair\nfirst, *rest = items", {"pair": [1, 2], "items": [3, 4, 5]},
     {"a": 1, "b": 2, "first": 3, "rest": [4, 5]}),
    ("pairs = []\nfor k, v in sorted(d.items()):\n    pairs.append(k + str(v))", {"d": {"b": 2, "a": 1}},
     {"pairs": ["a1", "b2"]}),
    ("stats = [len(v), min(v), max(v), sorted(v, reverse=True), sum(v), any(v), all(v)]", {"v": [3, 1, 2]},
     {"stats": [3, 1, 3, [3, 2, 1], 6, True, True]}),
    ("label = ' 噪音扰民 '.strip() + '/' + 'abc'.upper() + '/' + 'A-B'.lower().replace('-', '_')", {},
     {"label": "噪音扰民/ABC/a_b"}),
    ("parts = '北岙,东屏'.split(',')\njoined = '、'.join(parts)\nok = joined.startswith('北')", {},
     {"parts": ["北岙", "东屏"], "joined": "北岙、东屏", "ok": True}),
    ("msg = f'工单{num:04d}：{title}'\npct = '%s%%' % 5", {"num": 7, "title": "噪音"},
     {"msg": "工单0007：噪音", "pct": "5%"}),
    ("big = 2 ** 10 * 10 ** 6\nrows = [[i * j for j in range(3)] for i in range(2)]", {},
     {"big": 1024 * 10**6, "rows": [[0, 0, 0], [0, 1, 2]]}),
    ("items.extend([3, 4])\nitems[0] = 9\nhead = items[1:3]", {"items": [1, 2]},
     {"items": [9, 2, 3, 4], "head": [2, 3]}),
    ("try:\n    n = int(text)\nexcept ValueError:\n    n = -1", {"text": "x"}, {"n": -1}),
    ("try:\n    upstream_deadline\nexcept NameError:\n    upstream_deadline = None", {},
     {"upstream_deadline": None}),
    ("level = 'high' if urgency >= 2 else 'low'\nseen = set(tags)\nn_seen = len(seen)",
     {"urgency": 2, "tags": ["a", "a", "b"]}, {"level": "high", "n_seen": 2}),
    ("when = due - start", {"due": __import__("datetime").datetime(2026, 1, 2),
                            "start": __import__("datetime").datetime(2026, 1, 1)},
     {"when": __import__("datetime").timedelta(days=1)}),
    ("indexed = [f'{i}:{v}' for i, v in enumerate(values)]", {"values": ["a", "b"]}, {"indexed": ["0:a", "1:b"]}),
])
def test_data_scripts_still_work(script: str, start: dict[str, Any], expected: dict[str, Any]) -> None:
    compile_checked(script, "exec")  # also passes the upload check
    context = dict(start)
    assert RestrictedEnvironment().execute(script, context) is True
    for key, value in expected.items():
        assert context[key] == value, key


@pytest.mark.parametrize(("condition", "values", "expected"), [
    ("category == '噪音扰民' and urgency >= 2", {"category": "噪音扰民", "urgency": 2}, True),
    ("category == '噪音扰民' and urgency >= 2", {"category": "噪音扰民", "urgency": 1}, False),
    ("district in ['北岙', '东屏']", {"district": "东屏"}, True),
    ("district in ['北岙', '东屏']", {"district": "大门"}, False),
    ("not done and len(items) > 0", {"done": False, "items": [1]}, True),
    ("count % 2 == 0 or '紧急' in title", {"count": 3, "title": "紧急：停水"}, True),
    ("max(scores) - min(scores) >= 10", {"scores": [1, 20]}, True),
    ("satisfaction == 'unsatisfied'", {"satisfaction": "satisfied"}, False),
])
def test_conditions_still_work(condition: str, values: dict[str, Any], expected: bool) -> None:
    compile_checked(condition, "eval")
    assert RestrictedEnvironment().evaluate(condition, values) is expected


@pytest.mark.parametrize(("start", "route"), [
    ({"raw_tags": [" 夜间 ", "施工", " "], "category": "噪音扰民", "urgency": 2}, "urgent"),
    ({"raw_tags": [], "category": "噪音扰民", "urgency": 1}, "normal"),
    ({"raw_tags": ["x"], "category": "环境卫生", "urgency": 3}, "normal"),
])
def test_the_probe_diagram_routes_with_real_data(start: dict[str, Any], route: str) -> None:
    wf = run_probe(start)
    [ready] = [t for t in wfops.open_tasks(wf)]
    assert ready.bpmn_id == route
    assert ready.data["tags"] == [t.strip().upper() for t in start["raw_tags"] if t.strip()]
    assert ready.data["score"] == len(ready.data["tags"])
    dump_workflow(wf)  # what a script leaves behind can be stored


def test_district_condition_inside_a_real_gateway() -> None:
    for district, route in (("北岙", "urgent"), ("大门", "normal")):
        wf = run_probe({"raw_tags": [], "district": district},
                       condition="district in ['北岙', '东屏']")
        assert [t.bpmn_id for t in wfops.open_tasks(wf)] == [route]
