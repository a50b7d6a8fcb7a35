"""Generate `webcast_pb.py` (the protobuf descriptor and typed message classes) from `webcast.proto`.

`python -m ttsign.tiktok.protogen` rewrites the module; `--check` exits 1 when it is out of date (the
unit tests run the same comparison). No `protoc` is needed: this reads the small proto3 subset our
schema is written in (messages whose fields are scalars, messages, `repeated` ones and maps with scalar
keys and values) and refuses anything else with the line it is on. The protobuf runtime builds the
classes from the serialized `FileDescriptorProto`, as it does for `protoc`'s output.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2

HERE = Path(__file__).resolve().parent
PROTO_PATH = HERE / "webcast.proto"
MODULE_PATH = HERE / "webcast_pb.py"
FILE_NAME = "ttsign/webcast.proto"
"""The name the descriptor is registered under (it never reaches the wire)."""

_FDP = descriptor_pb2.FieldDescriptorProto
# proto3 scalar type -> (descriptor type, Python type)
SCALARS: dict[str, tuple[int, str]] = {
    "double": (_FDP.TYPE_DOUBLE, "float"),
    "float": (_FDP.TYPE_FLOAT, "float"),
    "int32": (_FDP.TYPE_INT32, "int"),
    "int64": (_FDP.TYPE_INT64, "int"),
    "uint32": (_FDP.TYPE_UINT32, "int"),
    "uint64": (_FDP.TYPE_UINT64, "int"),
    "sint32": (_FDP.TYPE_SINT32, "int"),
    "sint64": (_FDP.TYPE_SINT64, "int"),
    "fixed32": (_FDP.TYPE_FIXED32, "int"),
    "fixed64": (_FDP.TYPE_FIXED64, "int"),
    "sfixed32": (_FDP.TYPE_SFIXED32, "int"),
    "sfixed64": (_FDP.TYPE_SFIXED64, "int"),
    "bool": (_FDP.TYPE_BOOL, "bool"),
    "string": (_FDP.TYPE_STRING, "str"),
    "bytes": (_FDP.TYPE_BYTES, "bytes"),
}
_PY_TYPE = {num: py for num, py in SCALARS.values()}
_MAP_KEYS = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"}
_MAP_KEYS |= {"bool", "string"}

_NOT_READ = {"message", "enum", "oneof", "option", "reserved", "extensions", "optional", "required", "group"}
_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<string>"[^"\n]*")|(?P<number>[0-9]+)"""
    r"""|(?P<ident>[A-Za-z_][A-Za-z0-9_.]*)|(?P<punct>[{}=;<>,])|(?P<bad>.)""",
    re.DOTALL,
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ProtoSyntaxError(ValueError):
    """The `.proto` text is not in the subset this generator reads; the message names the line."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    line = 1
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "bad"
        if kind == "bad":
            raise ProtoSyntaxError(f"line {line}: unexpected character {m.group()!r}")
        if kind not in ("space", "comment"):
            out.append(_Tok(kind, m.group(), line))
        line += m.group().count("\n")
    return out


class _Reader:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Tok:
        tok = self.peek()
        want = text or kind or "a token"
        if tok is None:
            last = self.toks[-1].line if self.toks else 1
            raise ProtoSyntaxError(f"line {last}: the file ends where {want!r} was expected")
        if (kind and tok.kind != kind) or (text and tok.text != text):
            raise ProtoSyntaxError(f"line {tok.line}: expected {want!r}, found {tok.text!r}")
        self.pos += 1
        return tok

    def name(self) -> str:
        tok = self.take("ident")
        if not _IDENT.fullmatch(tok.text):
            raise ProtoSyntaxError(f"line {tok.line}: {tok.text!r} is not a plain name")
        return tok.text


def _json_name(name: str) -> str:
    """lowerCamelCase, as protoc derives `json_name`."""
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _entry_name(field_name: str) -> str:
    """The map-entry message name protoc gives `field_name` (`route_params` -> `RouteParamsEntry`)."""
    return "".join(part.capitalize() for part in field_name.split("_")) + "Entry"


def parse_proto(text: str) -> descriptor_pb2.FileDescriptorProto:
    """Read `.proto` text (our subset) into a `FileDescriptorProto`, checking names, numbers and types."""
    r = _Reader(text)
    r.take("ident", "syntax")
    r.take("punct", "=")
    syntax = r.take("string")
    if syntax.text != '"proto3"':
        raise ProtoSyntaxError(f'line {syntax.line}: only syntax = "proto3" is read')
    r.take("punct", ";")
    r.take("ident", "package")
    package = r.take("ident").text
    r.take("punct", ";")
    fdp = descriptor_pb2.FileDescriptorProto(name=FILE_NAME, package=package, syntax="proto3")
    pending: list[tuple[int, str]] = []  # (line, message type named): resolved once every message is read
    while r.peek() is not None:
        r.take("ident", "message")
        msg_tok = r.peek()
        msg_name = r.name()
        if any(m.name == msg_name for m in fdp.message_type):
            raise ProtoSyntaxError(f"line {msg_tok.line if msg_tok else 0}: message {msg_name} is defined twice")
        msg = fdp.message_type.add(name=msg_name)
        r.take("punct", "{")
        numbers: set[int] = set()
        while (tok := r.peek()) is not None and tok.text != "}":
            repeated = tok.text == "repeated"
            if repeated:
                r.take()
            type_tok = r.take("ident")
            if type_tok.text in _NOT_READ:
                raise ProtoSyntaxError(
                    f"line {type_tok.line}: {type_tok.text!r} in a message is not read by this generator"
                )
            key_type = value_type = ""
            if type_tok.text == "map" and not repeated:
                r.take("punct", "<")
                key_type = r.take("ident").text
                r.take("punct", ",")
                value_type = r.take("ident").text
                r.take("punct", ">")
                if key_type not in _MAP_KEYS or value_type not in SCALARS:
                    raise ProtoSyntaxError(f"line {type_tok.line}: only maps of scalar keys and values are read")
            field_name = r.name()
            r.take("punct", "=")
            num_tok = r.take("number")
            r.take("punct", ";")
            number = int(num_tok.text)
            if not 1 <= number < 2**29 or 19000 <= number <= 19999:
                raise ProtoSyntaxError(f"line {num_tok.line}: field number {number} is not allowed")
            if number in numbers or any(f.name == field_name for f in msg.field):
                raise ProtoSyntaxError(f"line {num_tok.line}: {msg_name} reuses a field name or number")
            numbers.add(number)
            fd = msg.field.add(name=field_name, number=number, json_name=_json_name(field_name))
            fd.label = _FDP.LABEL_REPEATED if repeated else _FDP.LABEL_OPTIONAL
            if key_type:
                entry = msg.nested_type.add(name=_entry_name(field_name))
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=SCALARS[key_type][0], label=_FDP.LABEL_OPTIONAL)
                entry.field.add(name="value", number=2, type=SCALARS[value_type][0], label=_FDP.LABEL_OPTIONAL)
                fd.label = _FDP.LABEL_REPEATED
                fd.type = _FDP.TYPE_MESSAGE
                fd.type_name = f".{package}.{msg_name}.{entry.name}"
            elif type_tok.text in SCALARS:
                fd.type = SCALARS[type_tok.text][0]
            else:
                fd.type = _FDP.TYPE_MESSAGE
                fd.type_name = f".{package}.{type_tok.text}"
                pending.append((type_tok.line, type_tok.text))
        r.take("punct", "}")
    names = {m.name for m in fdp.message_type}
    for line, type_name in pending:
        if type_name not in names:
            raise ProtoSyntaxError(f"line {line}: unknown type {type_name!r} (a scalar or a message of this file)")
    return fdp


# --------------------------------------------------------------------------------------------------
# The generated module
# --------------------------------------------------------------------------------------------------

_HEADER = '''\
# Generated by `python -m ttsign.tiktok.protogen` from webcast.proto: edit the .proto, not this file.
"""The webcast schema as protobuf message classes, with typed fields.

At run time each class is the one the protobuf runtime builds from the serialized descriptor (in a
private pool, so nothing clashes with other protobuf users); for type checkers each is a `Message` with
its fields declared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, MutableSequence
from typing import TYPE_CHECKING

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

'''


def _py_type(msg: descriptor_pb2.DescriptorProto, fd: descriptor_pb2.FieldDescriptorProto) -> tuple[str, str]:
    """(attribute type, constructor argument type) of one field."""
    if fd.type == _FDP.TYPE_MESSAGE:
        target = fd.type_name.rsplit(".", 1)[-1]
        entry = next((n for n in msg.nested_type if n.name == target and n.options.map_entry), None)
        if entry is not None:
            k, v = (_PY_TYPE[f.type] for f in entry.field)
            return f"MutableMapping[{k}, {v}]", f"Mapping[{k}, {v}] | None"
        if fd.label == _FDP.LABEL_REPEATED:
            return f"MutableSequence[{target}]", f"Iterable[{target}] | None"
        return target, f"{target} | None"
    py = _PY_TYPE[fd.type]
    if fd.label == _FDP.LABEL_REPEATED:
        return f"MutableSequence[{py}]", f"Iterable[{py}] | None"
    return py, f"{py} | None"


def _bytes_literal(data: bytes, indent: str, width: int = 112) -> list[str]:
    """`data` as adjacent bytes literals, each line at most `width` characters."""
    lines: list[str] = []
    chunk = ""
    for b in data:
        # printable ASCII as itself; quotes and backslashes as hex, so the literal is the same in any quotes
        piece = chr(b) if 0x20 <= b < 0x7F and b not in b"\\\"'" else f"\\x{b:02x}"
        if len(indent) + len(chunk) + len(piece) + 3 > width:
            lines.append(f'{indent}b"{chunk}"')
            chunk = ""
        chunk += piece
    if chunk:
        lines.append(f'{indent}b"{chunk}"')
    return lines


def render_module(fdp: descriptor_pb2.FileDescriptorProto) -> str:
    """The source of `webcast_pb.py` for `fdp`."""
    out = [_HEADER]
    out.append(f"PACKAGE = {fdp.package!r}\n".replace("'", '"'))
    out.append("SERIALIZED_DESCRIPTOR = (\n")
    out.extend(line + "\n" for line in _bytes_literal(fdp.SerializeToString(deterministic=True), "    "))
    out.append(")\n")
    out.append('"""The `FileDescriptorProto` of webcast.proto, serialized."""\n\n')
    out.append("POOL = descriptor_pool.DescriptorPool()\n")
    out.append("POOL.AddSerializedFile(SERIALIZED_DESCRIPTOR)\n\n")
    out.append("if TYPE_CHECKING:\n")
    for msg in fdp.message_type:
        out.append(f"\n    class {msg.name}(Message):\n")
        args = []
        for fd in msg.field:
            attr, arg = _py_type(msg, fd)
            out.append(f"        {fd.name}: {attr}\n")
            args.append(f"{fd.name}: {arg} = ...")
        signature = f"        def __init__(self, *, {', '.join(args)}) -> None: ..."
        if len(signature) <= 120:
            out.append(f"\n{signature}\n")
        else:
            out.append("\n        def __init__(\n            self,\n            *,\n")
            out.extend(f"            {a},\n" for a in args)
            out.append("        ) -> None: ...\n")
    out.append("\nelse:\n\n")
    out.append("    def _cls(name: str) -> type[Message]:\n")
    out.append('        return message_factory.GetMessageClass(POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))\n\n')
    out.extend(f'    {msg.name} = _cls("{msg.name}")\n' for msg in fdp.message_type)
    return "".join(out)


def generate(proto_path: Path = PROTO_PATH) -> str:
    """The module source `proto_path` generates."""
    return render_module(parse_proto(proto_path.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ttsign.tiktok.protogen", description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if webcast_pb.py is not what webcast.proto gives")
    args = ap.parse_args(argv)
    source = generate()
    current = MODULE_PATH.read_text(encoding="utf-8") if MODULE_PATH.exists() else ""
    if args.check:
        if source != current:
            print(f"{MODULE_PATH.name} is out of date: run python -m ttsign.tiktok.protogen", file=sys.stderr)
            return 1
        return 0
    if source != current:
        MODULE_PATH.write_text(source, encoding="utf-8")
        print(f"wrote {MODULE_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
