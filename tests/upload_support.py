"""Tools of the upload tests: a canary TCP listener, builders of BPMN documents and bundles, the upload path."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape
from xml.sax.saxutils import quoteattr

from processes.engine.bundle import parse_bundle
from processes.runtime import definitions
from tests.support import TEST_BPMN
from tests.support import test_registry

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NAMESPACES = f'xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
SECRET = "S1-SECRET-7f3a9c-do-not-leak"
OPERATORS = set(test_registry())
Files = dict[str, str | bytes]


class Canary:
    """A TCP listener on 127.0.0.1 that counts connections (an XXE or XInclude fetch would be one)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:  # timeout, or closed
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        """Stop the thread and close the socket."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@dataclass(frozen=True)
class Ctx:
    """What a case needs at run time."""

    port: int
    secret: Path


@dataclass(frozen=True)
class Case:
    """A hostile bundle and what its rejection must say (substrings) and name (element id)."""

    id: str
    build: Callable[[Ctx], Files]
    expect: tuple[str, ...]
    element: str | None = None


def definitions_doc(body: str, *, head: str = "", extra: str = "") -> str:
    """A BPMN definitions document around body."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}'
            f'<bpmn:definitions {NAMESPACES} {extra} id="defs" targetNamespace="urn:s1">{body}</bpmn:definitions>')


def linear(*elements: str, pid: str = "p", executable: str = "true") -> str:
    """A process start → t1 → t2 … → end; the elements must carry ids t1, t2… in order."""
    ids = ["start"] + [f"t{i}" for i in range(1, len(elements) + 1)] + ["end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(itertools.pairwise(ids)))
    return (f'<bpmn:process id="{pid}" isExecutable="{executable}"><bpmn:startEvent id="start"/>'
            + "".join(elements) + '<bpmn:endEvent id="end"/>' + flows + "</bpmn:process>")


def task(tag: str, index: int, inner: str = "", attrs: str = "") -> str:
    """A flow node t<index>."""
    return f'<bpmn:{tag} id="t{index}" {attrs}>{inner}</bpmn:{tag}>'


def one_file(text: str | bytes, name: str = "upload.bpmn") -> Callable[[Ctx], Files]:
    """A bundle of one fixed file."""
    return lambda ctx: {name: text}


def with_script(source: str) -> Callable[[Ctx], Files]:
    """A script task t1 running source."""
    return one_file(definitions_doc(linear(task("scriptTask", 1, f"<bpmn:script>{escape(source)}</bpmn:script>"))))


def with_condition(condition: str) -> Callable[[Ctx], Files]:
    """An exclusive gateway `gw` with condition on its non-default flow."""
    return one_file(definitions_doc(
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"/>'
        '<bpmn:exclusiveGateway id="gw" default="f_else"/><bpmn:userTask id="yes"/><bpmn:userTask id="no"/>'
        '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw"/>'
        '<bpmn:sequenceFlow id="f_if" sourceRef="gw" targetRef="yes">'
        f"<bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f_else" sourceRef="gw" targetRef="no"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="yes" targetRef="e1"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="no" targetRef="e2"/></bpmn:process>'))


def with_timer(kind: str, expression: str) -> Callable[[Ctx], Files]:
    """An intermediate timer t1 whose timeDuration / timeDate / timeCycle is expression."""
    timer = f"<bpmn:timerEventDefinition><bpmn:{kind}>{escape(expression)}</bpmn:{kind}></bpmn:timerEventDefinition>"
    return one_file(definitions_doc(linear(task("intermediateCatchEvent", 1, timer))))


def with_loop(characteristics: str, tag: str = "userTask") -> Callable[[Ctx], Files]:
    """A task t1 with loop or multi-instance characteristics."""
    return one_file(definitions_doc(linear(task(tag, 1, characteristics))))


def cardinality(expression: str, completion: str = "") -> str:
    """multiInstanceLoopCharacteristics with a loopCardinality (and completion condition)."""
    done = f"<bpmn:completionCondition>{escape(completion)}</bpmn:completionCondition>" if completion else ""
    return ("<bpmn:multiInstanceLoopCharacteristics>"
            f"<bpmn:loopCardinality>{escape(expression)}</bpmn:loopCardinality>{done}"
            "</bpmn:multiInstanceLoopCharacteristics>")


def with_extension(tag: str, source: str) -> Callable[[Ctx], Files]:
    """A user task t1 carrying spiffworkflow:<tag> (preScript, postScript)."""
    ext = (f"<bpmn:extensionElements><spiffworkflow:{tag}>{escape(source)}</spiffworkflow:{tag}>"
           "</bpmn:extensionElements>")
    return one_file(definitions_doc(linear(task("userTask", 1, ext))))


def with_service(operator: str, value: str = "lead_department") -> Callable[[Ctx], Files]:
    """A service task t1 calling operator with one parameter expression."""
    ext = ("<bpmn:extensionElements>"
           f'<spiffworkflow:serviceTaskOperator id={quoteattr(operator)} resultVariable="out">'
           f'<spiffworkflow:parameters><spiffworkflow:parameter id="value" type="str" value={quoteattr(value)}/>'
           "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>")
    return one_file(definitions_doc(linear(task("serviceTask", 1, ext))))


def with_form(reference: str, forms: dict[str, str]) -> Callable[[Ctx], Files]:
    """A user task t1 whose formJsonSchemaFilename is reference, plus the given form files."""
    ext = ("<bpmn:extensionElements><spiffworkflow:properties>"
           f'<spiffworkflow:property name="formJsonSchemaFilename" value={quoteattr(reference)}/>'
           "</spiffworkflow:properties></bpmn:extensionElements>")
    bpmn = definitions_doc(linear(task("userTask", 1, ext)))
    return lambda ctx: {"form.bpmn": bpmn, **forms}


def with_head(head: Callable[[Ctx], str], body: str = "") -> Callable[[Ctx], Files]:
    """A valid diagram behind a DOCTYPE (entities, external DTD …)."""
    return lambda ctx: {"upload.bpmn": definitions_doc(linear() + body, head=head(ctx))}


def entities(declarations: str) -> Callable[[Ctx], str]:
    """An internal DTD subset with these declarations."""
    return lambda ctx: f"<!DOCTYPE bpmn:definitions [\n{declarations.format(port=ctx.port, secret=ctx.secret)}\n]>\n"


def simple() -> str:
    """The text of tests/bpmn/simple.bpmn."""
    return (TEST_BPMN / "simple.bpmn").read_text(encoding="utf-8")


def deep(depth: int) -> str:
    """A diagram with depth nested elements."""
    return definitions_doc(linear(task("userTask", 1, "<bpmn:extensionElements>" + "<x>" * depth + "</x>" * depth
                                          + "</bpmn:extensionElements>")))


def many_attributes(count: int, prefix: str = "") -> str:
    """A definitions element with count attributes (namespaced ones pass the XSD's anyAttribute)."""
    attrs = " ".join(f'{prefix}a{i}="{i}"' for i in range(count))
    return definitions_doc(linear(), extra=('xmlns:z="urn:z" ' if prefix else "") + attrs)


def cycle_doc() -> str:
    """A back edge: handle → again → handle."""
    return definitions_doc(
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"/><bpmn:userTask id="handle"/>'
        '<bpmn:exclusiveGateway id="again" default="f_done"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="handle"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="handle" targetRef="again"/>'
        '<bpmn:sequenceFlow id="f_back" sourceRef="again" targetRef="handle">'
        "<bpmn:conditionExpression>rehandle</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f_done" sourceRef="again" targetRef="end"/></bpmn:process>')


def correlation_doc(expression: str) -> str:
    """A message catch event whose correlation property is retrieved by expression."""
    return definitions_doc(
        linear(task("intermediateCatchEvent", 1, '<bpmn:messageEventDefinition messageRef="m"/>'))
        + '<bpmn:message id="m" name="m"/><bpmn:correlationProperty id="cp" name="cp">'
        '<bpmn:correlationPropertyRetrievalExpression messageRef="m">'
        f"<bpmn:formalExpression>{escape(expression)}</bpmn:formalExpression>"
        "</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>")


def message_payload_doc(expression: str) -> str:
    """A message throw event t1 whose payload is expression."""
    return definitions_doc(linear(task(
        "intermediateThrowEvent", 1, '<bpmn:messageEventDefinition messageRef="m"><bpmn:extensionElements>'
        f"<spiffworkflow:messagePayload>{escape(expression)}</spiffworkflow:messagePayload>"
        "</bpmn:extensionElements></bpmn:messageEventDefinition>")) + '<bpmn:message id="m" name="m"/>')


def upload(files: Files, tmp_path: Path) -> None:
    """Parse a bundle the way it arrives: bytes go through the folder reader (UTF-8 check), text straight in."""
    if any(isinstance(v, bytes) for v in files.values()):
        for name, content in files.items():
            target = tmp_path / "bundle" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        parse_bundle(definitions.read_bundle_dir(tmp_path / "bundle"), process_id=None, operators=OPERATORS)
    else:
        parse_bundle({k: str(v) for k, v in files.items()}, process_id=None, operators=OPERATORS)
