"""webcast.proto is the one source of the webcast schema: the generated module and the runtime agree with
it, the generator refuses what it does not read, and the message classes have typed fields for mypy."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from mypy import api as mypy_api

from ttsign.tiktok import proto, protogen, webcast_pb

REPO = Path(__file__).resolve().parents[2]


def test_generated_module_is_what_the_proto_generates():
    """Edit webcast.proto without `python -m ttsign.tiktok.protogen` (or webcast_pb.py by hand) and this fails."""
    assert protogen.MODULE_PATH.read_text(encoding="utf-8") == protogen.generate()
    assert protogen.main(["--check"]) == 0


def test_runtime_schema_is_the_proto():
    ours = descriptor_pb2.FileDescriptorProto()
    proto.BaseProtoMessage.DESCRIPTOR.file.CopyToProto(ours)
    assert ours == protogen.parse_proto(protogen.PROTO_PATH.read_text(encoding="utf-8"))
    assert proto.PACKAGE == webcast_pb.PACKAGE == ours.package == "ttsign.webcast"


def test_check_reports_a_stale_module(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "webcast_pb.py"
    stale.write_text(protogen.generate().replace("sec_uid: str\n", "sec_uid: int\n"), encoding="utf-8")
    monkeypatch.setattr(protogen, "MODULE_PATH", stale)
    assert protogen.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_generator_reads_every_field_kind():
    fdp = protogen.parse_proto(
        textwrap.dedent(
            """
            syntax = "proto3";  // comment
            package demo.v1;
            /* a block
               comment */
            message A { repeated string tags = 1; map<string, int64> counts = 2; B b = 3; repeated B bs = 4; }
            message B { bytes raw = 1; bool ok = 2; }
            """
        )
    )
    a = {f.name: f for f in fdp.message_type[0].field}
    assert a["tags"].label == a["tags"].LABEL_REPEATED and a["tags"].type == a["tags"].TYPE_STRING
    assert a["counts"].type_name == ".demo.v1.A.CountsEntry" and fdp.message_type[0].nested_type[0].options.map_entry
    assert a["b"].type_name == ".demo.v1.B" and a["bs"].label == a["bs"].LABEL_REPEATED
    source = protogen.render_module(fdp)
    assert "counts: MutableMapping[str, int]" in source and "bs: MutableSequence[B]" in source


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("message A { Missing m = 1; }", "line 3: unknown type 'Missing'"),
        ("message A { string a = 1;\n string b = 1; }", "line 4: A reuses a field name or number"),
        ("message A { string a = 1; }\nmessage A { string b = 1; }", "message A is defined twice"),
        ("message A { string a = 19500; }", "field number 19500 is not allowed"),
        ("message A { message B { } }", "line 3: 'message' in a message is not read"),
        ("message A { optional string a = 1; }", "line 3: 'optional' in a message is not read"),
        ("message A { string a = 1 }", "line 3: expected ';', found '}'"),
        ("enum E { X = 0; }", "line 3: expected 'message', found 'enum'"),
        ("message A { map<string, A> m = 1; }", "only maps of scalar keys and values"),
        ("message A { string a = 1; } @", "unexpected character '@'"),
        ("message A { string a = 1;", "the file ends where '}' was expected"),
    ],
)
def test_generator_refuses_what_it_does_not_read(body, why):
    with pytest.raises(protogen.ProtoSyntaxError, match=why.replace("(", r"\(")):
        protogen.parse_proto(f'syntax = "proto3";\npackage p;\n{body}\n')


def test_generator_refuses_proto2():
    with pytest.raises(protogen.ProtoSyntaxError, match='only syntax = "proto3"'):
        protogen.parse_proto('syntax = "proto2";\npackage p;\n')


def test_message_fields_are_typed_for_mypy(tmp_path):
    """The classes carry their fields' types: mypy rejects a wrong one (with `Any` classes it saw nothing)."""
    snippet = tmp_path / "uses_proto.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from ttsign.tiktok import proto

            user = proto.User(id=1, nickname="a")
            handle: str = user.display_id
            wrong_id: str = user.id
            proto.User(nickname=5)
            result = proto.decode_fetch_result(b"")
            result.route_params["k"] = "v"
            result.route_params["k"] = 1
            first: proto.BaseProtoMessage = result.messages[0]
            """
        ),
        encoding="utf-8",
    )
    out, _err, status = mypy_api.run(
        [
            "--config-file",
            str(REPO / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--follow-imports=silent",
            str(snippet),
        ]
    )
    errors = sorted(line.split(":")[1] for line in out.splitlines() if ": error:" in line)
    assert status == 1, out
    assert errors == ["10", "6", "7"], out  # wrong_id, nickname=5, route_params value 1
