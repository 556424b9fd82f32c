"""Validation rules, each with a failing and a passing diagram; the catalogue; `hotline validate` lines and exits."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from click.testing import CliRunner

from processes.engine.validation.check import Report
from processes.engine.validation.check import validate_bundle
from tests.test_i18n import catalogue
from tests.upload_support import OPERATORS
from webapp.cli import cli
from webapp.cli.problems import translator

ROOT = Path(__file__).resolve().parent.parent
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">\n')
ROLE = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="candidate_role" '
        'value="{role}"/></spiffworkflow:properties></bpmn:extensionElements>')


def doc(body: str, *, extra: str = "", pid: str = "p", executable: str = "true", lanes: str = "") -> str:
    """A BPMN document: start event s (flow f1 out), the body, in process `pid`."""
    return (f'{HEAD}{extra}<bpmn:process id="{pid}" name="流程" isExecutable="{executable}">\n{lanes}'
            f'<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n{body}\n'
            '</bpmn:process>\n</bpmn:definitions>\n')


def step(element: str, inner: str = "", *, tag_attrs: str = "", name: str = "办理") -> str:
    """s → element (id x) → end e, flows f1 and f2; `inner` goes inside the element."""
    return (f'<bpmn:{element} id="x" name="{name}"{tag_attrs}>{inner}<bpmn:incoming>f1</bpmn:incoming>'
            f'<bpmn:outgoing>f2</bpmn:outgoing></bpmn:{element}>\n'
            '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming>'
            '</bpmn:endEvent>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x"/>\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e"/>')


def check(text: str, **kwargs: str) -> Report:
    return validate_bundle({"a.bpmn": text}, operators=OPERATORS, **kwargs)


def codes(report: Report) -> set[str]:
    return {p.code for p in report.problems}


OK_TASK = doc(step("userTask", ROLE.format(role="handler")))
HANDLER = ROLE.format(role="handler")
MESSAGE = '<bpmn:message id="m1" name="reply"/>\n'
CATCH = '<bpmn:messageEventDefinition id="md" messageRef="{ref}"/>'
TIMER = '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
XOR = ('<bpmn:exclusiveGateway id="g" name="是否受理"{default}><bpmn:incoming>f1</bpmn:incoming>'
       '<bpmn:outgoing>a</bpmn:outgoing><bpmn:outgoing>b</bpmn:outgoing></bpmn:exclusiveGateway>'
       '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
       '<bpmn:sequenceFlow id="a" sourceRef="g" targetRef="e1">{cond_a}</bpmn:sequenceFlow>'
       '<bpmn:sequenceFlow id="b" sourceRef="g" targetRef="e2">{cond_b}</bpmn:sequenceFlow>')
COND = "<bpmn:conditionExpression>decision == 'accept'</bpmn:conditionExpression>"
STORE = ('<bpmn:dataOutputAssociation id="da"><bpmn:targetRef>dsr</bpmn:targetRef></bpmn:dataOutputAssociation>'
         '</bpmn:userTask><bpmn:dataStoreReference id="dsr" dataStoreRef="ds"/>')
OBJECT = ('<bpmn:dataOutputAssociation id="da"><bpmn:targetRef>dor</bpmn:targetRef></bpmn:dataOutputAssociation>'
          "{script}"
          '</bpmn:{tag}><bpmn:dataObject id="record"/><bpmn:dataObjectReference id="dor" dataObjectRef="record"/>')
CHILD = '<bpmn:process id="child" isExecutable="true"><bpmn:startEvent id="cs"/></bpmn:process></bpmn:definitions>'
SPLIT = '<bpmn:endEvent id="e3"/><bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="e3"/></bpmn:process>'
OPERATOR = ('<bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="test.echo" resultVariable="r">'
            "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>")


def lane(name: str) -> str:
    """A lane set putting task x into a lane of this name."""
    lane_xml = f'<bpmn:lane id="l" name="{name}"><bpmn:flowNodeRef>x</bpmn:flowNodeRef></bpmn:lane>'
    return f"<bpmn:laneSet>{lane_xml}</bpmn:laneSet>"


def event(definition: str, *, extra: str = "") -> str:
    """s → intermediate catch event x with this definition → e."""
    body = step("intermediateCatchEvent", name="等")
    return doc(body.replace("<bpmn:outgoing>f2</bpmn:outgoing>", "<bpmn:outgoing>f2</bpmn:outgoing>" + definition),
               extra=extra)


def tail(element: str, inner: str, after: str, **kwargs: str) -> str:
    """s → element x (inner first) → e, with `after` at the end of x (loops, scripts, associations)."""
    body = step(element, inner, **kwargs)
    return doc(body.replace(f"</bpmn:outgoing></bpmn:{element}>", f"</bpmn:outgoing>{after}", 1))


def gateway(default: str, cond_b: str, kind: str = "exclusiveGateway") -> str:
    """An XOR (or another gateway kind) with flow a conditional and flow b as given."""
    return doc(XOR.replace("exclusiveGateway", kind).format(default=default, cond_a=COND, cond_b=cond_b))


DEFAULT_XOR = gateway(' default="b"', "")
# rule code → (failing diagram, passing diagram, severity of the finding)
RULES: dict[str, tuple[str, str, str]] = {
    "ref.no_message": (event(CATCH.replace(' messageRef="{ref}"', ""), extra=MESSAGE),
                       event(CATCH.format(ref="m1"), extra=MESSAGE), "error"),
    "ref.unknown": (event(CATCH.format(ref="nope"), extra=MESSAGE), event(CATCH.format(ref="m1"), extra=MESSAGE),
                    "error"),
    "flow.dangling": (OK_TASK.replace('targetRef="e"', 'targetRef="gone"'), OK_TASK, "error"),
    "flow.implicit_split": (OK_TASK.replace("<bpmn:outgoing>f2</bpmn:outgoing>", "<bpmn:outgoing>f2</bpmn:outgoing>"
                                            "<bpmn:outgoing>f3</bpmn:outgoing>").replace("</bpmn:process>", SPLIT),
                            OK_TASK, "error"),
    "flow.no_condition": (gateway("", ""), DEFAULT_XOR, "error"),
    "flow.default_condition": (gateway(' default="b"', COND), DEFAULT_XOR, "warning"),
    "element.unsupported": (gateway("", COND, "complexGateway"), DEFAULT_XOR, "error"),
    "service.no_operator": (doc(step("serviceTask", name="推送")), doc(step("serviceTask", OPERATOR, name="推送")),
                            "error"),
    "script.language": (tail("scriptTask", "", "<bpmn:script>var a = 1;</bpmn:script></bpmn:scriptTask>",
                             tag_attrs=' scriptFormat="javascript"'),
                        tail("scriptTask", "", "<bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>",
                             tag_attrs=' scriptFormat="python"'), "error"),
    "timer.empty": (event("<bpmn:timerEventDefinition/>"), event(TIMER), "error"),
    "loop.unbounded": (tail("userTask", HANDLER, "<bpmn:standardLoopCharacteristics/></bpmn:userTask>"),
                       tail("userTask", HANDLER, '<bpmn:standardLoopCharacteristics loopMaximum="2"/></bpmn:userTask>'),
                       "error"),
    "call.missing": (doc(step("callActivity", tag_attrs=' calledElement="child"')),
                     doc(step("callActivity", tag_attrs=' calledElement="child"')).replace(
                         "</bpmn:definitions>", CHILD),
                     "error"),
    "task.untyped": (doc(step("task")), OK_TASK, "warning"),
    "role.unknown_property": (doc(step("userTask", ROLE.format(role="boss"))), OK_TASK, "warning"),
    "role.lane_name": (doc(step("userTask"), lanes=lane("承办人")), doc(step("userTask"), lanes=lane("handler")),
                       "warning"),
    "role.none": (doc(step("userTask")), OK_TASK, "warning"),
    "data.store": (tail("userTask", HANDLER, STORE).replace("<bpmn:process", '<bpmn:dataStore id="ds" name="档案"/>'
                                                            "<bpmn:process"), OK_TASK, "warning"),
    "data.output": (tail("userTask", HANDLER, OBJECT.format(script="", tag="userTask")),
                    tail("scriptTask", "", OBJECT.format(script="<bpmn:script>record = 1</bpmn:script>",
                                                         tag="scriptTask")),
                    "error"),
    "process.not_executable": (doc(step("userTask", HANDLER), executable="false"), OK_TASK, "error"),
    "xsd.unexpected": (OK_TASK.replace("<bpmn:incoming>f1", "<bpmn:Assignee>张三</bpmn:Assignee><bpmn:incoming>f1"),
                       OK_TASK, "error"),
    "xsd.duplicate_id": (OK_TASK.replace('<bpmn:endEvent id="e">', '<bpmn:endEvent id="x">').replace(
                             'targetRef="e"', 'targetRef="x"'), OK_TASK, "error"),
}


@pytest.mark.parametrize("code", sorted(RULES))
def test_each_rule_fails_one_diagram_and_passes_another(code: str) -> None:
    failing, passing, severity = RULES[code]
    found = [p for p in check(failing).problems if p.code == code]
    assert found and {p.severity for p in found} == {severity}, [p.one_line() for p in check(failing).problems]
    assert all(p.file == "a.bpmn" and p.text() and p.hint_text() for p in found)
    fine = check(passing)
    assert code not in codes(fine) and fine.ok, [p.one_line() for p in fine.problems]
    if severity == "warning":
        assert check(failing).ok  # a warning alone never stops a deploy


def test_a_problem_names_element_line_what_and_what_to_do() -> None:
    report = check(RULES["ref.unknown"][0])
    problem = next(p for p in report.errors if p.code == "ref.unknown")
    assert (problem.element_id, problem.element_name, problem.line) == ("x", "等", 6)
    assert problem.one_line() == ("a.bpmn:6: 错误 [x 等] 引用的消息定义 “nope” 在文件中不存在 — "
                                  "在建模工具中为它选择一个已有的消息定义，或在文件中添加它")
    english = problem.one_line(translator("en"))
    assert english == ("a.bpmn:6: error [x 等] The referenced message “nope” does not exist in the file — "
                       "pick an existing message for it in the modeling tool, or add it to the file")


def test_schema_errors_read_as_words_with_the_tag_and_what_is_allowed() -> None:
    problem = check(RULES["xsd.unexpected"][0]).errors[0]
    assert problem.text().startswith("元素 <Assignee> 不能出现在这里；这里允许：")
    assert "{http" not in problem.one_line() and "incoming" in problem.text()


def test_several_candidates_are_listed_and_one_can_be_named() -> None:
    two = OK_TASK.replace("</bpmn:definitions>", '<bpmn:process id="q" name="回访" isExecutable="true">'
                          '<bpmn:startEvent id="qs"/></bpmn:process></bpmn:definitions>')
    refused = check(two)
    assert [p.code for p in refused.errors] == ["process.ambiguous"]
    assert refused.candidates == (("p", "流程"), ("q", "回访"))
    hint = refused.errors[0].hint_text()
    assert "hotline validate --process p" in hint and "hotline deploy --process p" in hint and "q（回访）" in hint
    named = check(two, process_id="q")
    assert named.ok and named.parsed is not None and named.parsed.process_id == "q"
    assert [p.code for p in check(two, process_id="zz").errors] == ["process.unknown"]


def test_pools_say_which_one_runs() -> None:
    collab = ('<bpmn:collaboration id="c"><bpmn:participant id="P1" name="中心" processRef="p"/>'
              '<bpmn:participant id="P2" name="市民"/></bpmn:collaboration>\n')
    report = check(doc(step("userTask", ROLE.format(role="handler")), extra=collab))
    assert report.ok and [p.code for p in report.warnings] == ["pool.several"]
    assert "只运行池 P1（中心）" in report.warnings[0].text()


def test_the_engine_never_sees_a_missing_message_reference() -> None:
    from processes.engine.bundle import parse_bundle
    from processes.errors import DefinitionInvalid

    with pytest.raises(DefinitionInvalid, match="message reference 'nope' names no message"):
        parse_bundle({"a.bpmn": RULES["ref.unknown"][0]}, process_id=None, operators=OPERATORS)


def test_every_validation_text_is_in_the_english_catalogue() -> None:
    marked = {str(found[2]) for found in extract_from_dir(
        str(ROOT / "processes" / "engine" / "validation"), [("**.py", "python")], {}, keywords={"N_": None})}
    assert len(marked) > 100
    assert not sorted(marked - set(catalogue()))


# ---------------------------------------------------------------- hotline validate


@pytest.fixture
def runner(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path}/none.sqlite",
                          "HOTLINE_BPMN_DIR": str(tmp_path)})


def test_validate_prints_one_line_per_problem_and_exits_by_outcome(runner: CliRunner, tmp_path: Path) -> None:
    good, warned, bad = tmp_path / "good.bpmn", tmp_path / "warned.bpmn", tmp_path / "bad.bpmn"
    good.write_text(OK_TASK, encoding="utf-8")
    warned.write_text(RULES["task.untyped"][0], encoding="utf-8")
    bad.write_text(RULES["flow.dangling"][0], encoding="utf-8")
    ok = runner.invoke(cli, ["validate", str(good), str(warned)])
    assert ok.exit_code == 0, ok.output
    assert f"{warned}:5: 警告 [x 办理] 未指定类型的任务会当作人工任务" in ok.output
    assert f"{good}: ok (process p, 0 called, 0 warnings)" in ok.output
    refused = runner.invoke(cli, ["validate", str(good), str(bad)])
    assert refused.exit_code == 1
    assert f"{bad}:8: 错误 [f2] 顺序流的终点 “gone” 在文件中不存在 — 在建模工具中把这条顺序流重新连到元素上" in (
        refused.output)
    english = runner.invoke(cli, ["validate", "--lang", "en", str(bad)])
    assert english.exit_code == 1 and "error [f2] The sequence flow's target “gone” does not exist" in english.output


def test_validate_usage_mistakes_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["validate", str(tmp_path / "missing.bpmn")]).exit_code == 2
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert runner.invoke(cli, ["validate", str(tmp_path / "notes.txt")]).exit_code == 2
    assert runner.invoke(cli, ["validate", "--lang", "fr"]).exit_code == 2


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "XML 格式错误"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "文件不是 UTF-8 文本"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
     "文件含有 DOCTYPE 或实体声明，出于安全原因拒绝"),
    (b"<a><b></a>", "XML 格式错误（第 1 行附近）"),
    (b'<?xml version="1.0"?><html/>', "这不是 BPMN 2.0 文件"),
    # one file is read no further than the 5 MB a diagram may have (it used to be read whole, then the bundle refused)
    (OK_TASK.encode().replace(b"</bpmn:definitions>", b"<!--" + b"x" * (21 * 1024 * 1024) + b"--></bpmn:definitions>"),
     "文件超过 5 MB"),
    (OK_TASK.encode().replace(b"</bpmn:definitions>", b"<!--" + b"x" * (6 * 1024 * 1024) + b"--></bpmn:definitions>"),
     "文件超过 5 MB"),
], ids=["empty", "binary", "xxe", "malformed", "not-bpmn", "21MB", "6MB"])
def test_hostile_files_get_a_clear_line_and_no_traceback(runner: CliRunner, tmp_path: Path, content: bytes,
                                                         expected: str) -> None:
    path = tmp_path / "upload.bpmn"
    path.write_bytes(content)
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1 and expected in result.output, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
