"""venuegate.ws: the native WebSocket codec (engine/src/ws.rs) against the RFC 6455 and RFC 7692
vectors in tests/vectors/ws_rfc.json, and against the `websockets` library's own frame
serialization, permessage-deflate and handshake as an independent implementation.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Close, Frame
from websockets.frames import Opcode as RefOpcode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.uri import parse_uri
from websockets.utils import accept_key as ref_accept_key
from websockets.utils import generate_key

from venuegate.errors import ProtocolError, VenuegateError
from venuegate.ws import (
    CloseCode,
    Opcode,
    WsDecoder,
    inflate_gzip,
    inflate_raw,
    new_client_key,
    new_mask,
    parse_close,
    ws_accept_key,
    ws_client_request,
    ws_encode_close,
    ws_encode_frame,
    ws_parse_request,
    ws_parse_response,
    ws_server_response,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "ws_rfc.json").read_text(encoding="utf-8")
)


def feed_all(decoder: WsDecoder, chunks: list[bytes]) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# --- RFC vectors --------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=lambda v: v["source"])
def test_rfc6455_frames_decode(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    want = [(op, bytes.fromhex(p)) for op, p in vector["messages"]]
    assert WsDecoder(vector["role"]).feed(data) == want
    assert feed_all(WsDecoder(vector["role"]), byte_by_byte(data)) == want


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS["frames"] if "encode" in v], ids=lambda v: v["source"]
)
def test_rfc6455_frames_encode(vector: dict[str, Any]) -> None:
    e = vector["encode"]
    mask = bytes.fromhex(e["mask"]) if e["mask"] else None
    frame = ws_encode_frame(e["opcode"], bytes.fromhex(e["payload"]), e["fin"], mask)
    assert frame.hex() == vector["hex"]


def test_rfc6455_fragmented_encode() -> None:
    frames = ws_encode_frame(Opcode.TEXT, b"Hel", fin=False) + ws_encode_frame(
        Opcode.CONTINUATION, b"lo"
    )
    assert frames.hex() == VECTORS["frames"][2]["hex"]


@pytest.mark.parametrize("vector", VECTORS["length_headers"], ids=lambda v: v["source"])
def test_rfc6455_length_headers(vector: dict[str, Any]) -> None:
    payload = os.urandom(vector["length"])
    frame = ws_encode_frame(Opcode.BINARY, payload)
    header = bytes.fromhex(vector["header"])
    assert frame == header + payload
    assert WsDecoder().feed(frame) == [(Opcode.BINARY, payload)]


@pytest.mark.parametrize("vector", VECTORS["accept_key"], ids=lambda v: v["source"])
def test_rfc6455_accept_key(vector: dict[str, str]) -> None:
    assert ws_accept_key(vector["key"]) == vector["accept"]


@pytest.mark.parametrize("vector", VECTORS["deflate"], ids=lambda v: v["source"])
def test_rfc7692_compressed_frames(vector: dict[str, Any]) -> None:
    frames = [bytes.fromhex(f) for f in vector["frames"]]
    want = [(Opcode.TEXT, m.encode()) for m in vector["messages"]]
    for nct in vector["no_context_takeover"]:
        assert feed_all(WsDecoder(deflate=True, no_context_takeover=nct), frames) == want
        joined = b"".join(frames)
        decoder = WsDecoder(deflate=True, no_context_takeover=nct)
        assert feed_all(decoder, byte_by_byte(joined)) == want


# --- violations and their close codes -------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "data", "close_code"),
    [
        ("client", bytes([0x83, 0x00]), 1002),  # reserved opcode
        ("client", bytes([0xC1, 0x00]), 1002),  # RSV1 without permessage-deflate
        ("client", bytes([0x09, 0x00]), 1002),  # fragmented ping
        ("client", bytes([0x89, 0x7E, 0x00, 0x7E]), 1002),  # ping over 125 bytes
        ("client", bytes([0x80, 0x00]), 1002),  # continuation without a start
        ("client", bytes([0x01, 0x01, 0x61, 0x81, 0x00]), 1002),  # text during fragments
        ("client", bytes([0x81, 0x81, 1, 2, 3, 4, 0x60]), 1002),  # masked from a server
        ("server", bytes([0x81, 0x01, 0x61]), 1002),  # unmasked from a client
        ("client", bytes([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]), 1002),  # length MSB set
        ("client", bytes([0x81, 0x02, 0xC3, 0x28]), 1007),  # invalid UTF-8
        ("client", bytes([0x01, 0x01, 0xE2, 0x80, 0x01, 0x82]), 1007),  # truncated UTF-8
        ("client", bytes([0x88, 0x01, 0x03]), 1002),  # 1-byte close payload
        ("client", bytes([0x88, 0x02, 0x03, 0xED]), 1002),  # close code 1005
        ("client", bytes([0x88, 0x02, 0x03, 0xF7]), 1002),  # close code 1015
        ("client", bytes([0x88, 0x03, 0x03, 0xE8, 0xFF]), 1007),  # close reason not UTF-8
        ("client", bytes([0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0]), 1009),  # 4 GiB frame
    ],
)
def test_violations_raise_protocol_error_with_close_code(
    role: str, data: bytes, close_code: int
) -> None:
    decoder = WsDecoder(role)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError) as exc_info:
        decoder.feed(data)
    assert exc_info.value.close_code == close_code
    assert isinstance(exc_info.value, VenuegateError)
    assert exc_info.value.retryable
    # The decoder stays failed: the stream must be closed.
    with pytest.raises(ProtocolError):
        decoder.feed(ws_encode_frame(Opcode.TEXT, b"fine"))


def test_messages_before_a_violation_travel_with_the_error() -> None:
    data = ws_encode_frame(Opcode.TEXT, b"fill") + ws_encode_frame(Opcode.PING, b"") + b"\x8f\x00"
    with pytest.raises(ProtocolError) as exc_info:
        WsDecoder().feed(data)
    assert exc_info.value.messages == [(Opcode.TEXT, b"fill"), (Opcode.PING, b"")]
    assert exc_info.value.close_code == 1002


def test_message_limits_are_1009() -> None:
    decoder = WsDecoder(max_message=100)
    assert decoder.feed(ws_encode_frame(Opcode.BINARY, b"x" * 100)) == [(Opcode.BINARY, b"x" * 100)]
    with pytest.raises(ProtocolError) as exc_info:
        decoder.feed(ws_encode_frame(Opcode.BINARY, b"x" * 101)[:4])
    assert exc_info.value.close_code == CloseCode.MESSAGE_TOO_BIG


def test_zip_bomb_stops_at_the_limit() -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = c.compress(b"\0" * (50 << 20)) + c.flush(zlib.Z_SYNC_FLUSH)
    frame = bytes([0xC2, 0x7E]) + len(bomb[:-4]).to_bytes(2, "big") + bomb[:-4]
    with pytest.raises(ProtocolError) as exc_info:
        WsDecoder(max_message=1 << 20, deflate=True).feed(frame)
    assert exc_info.value.close_code == 1009


def test_close_frames() -> None:
    decoder = WsDecoder()
    out = decoder.feed(ws_encode_close(1001, "going away") + ws_encode_frame(Opcode.TEXT, b"x"))
    assert out == [(Opcode.CLOSE, b"\x03\xe9going away")]
    assert parse_close(out[0][1]) == (1001, "going away")
    assert decoder.closed
    assert decoder.feed(b"anything after close is ignored") == []
    assert WsDecoder().feed(ws_encode_frame(Opcode.CLOSE, b"")) == [(Opcode.CLOSE, b"")]
    assert parse_close(b"") == (CloseCode.NO_STATUS, "")
    with pytest.raises(ProtocolError):
        ws_encode_close(1005)
    with pytest.raises(ProtocolError):
        ws_encode_close(1000, "r" * 124)


def test_encode_refuses_bad_frames() -> None:
    with pytest.raises(ProtocolError):
        ws_encode_frame(3, b"")
    with pytest.raises(ProtocolError):
        ws_encode_frame(Opcode.PING, b"x" * 126)
    with pytest.raises(ProtocolError):
        ws_encode_frame(Opcode.PONG, b"", fin=False)
    with pytest.raises(ValueError, match="4 bytes"):
        ws_encode_frame(Opcode.TEXT, b"", mask=b"abc")
    with pytest.raises(ValueError, match="role"):
        WsDecoder("peer")  # type: ignore[arg-type]


def test_buffer_types_and_partial_reads() -> None:
    frame = ws_encode_frame(Opcode.BINARY, bytes(range(200)))
    decoder = WsDecoder()
    assert decoder.feed(bytearray(frame[:50])) == []
    assert decoder.buffered == 50
    assert decoder.feed(memoryview(frame)[50:]) == [(Opcode.BINARY, bytes(range(200)))]
    assert decoder.buffered == 0
    assert repr(decoder) == 'WsDecoder(role="client", max_message=16777216, deflate=false)'


# --- websockets as an independent reference ---------------------------------------------------


def ref_parse(data: bytes, *, mask: bool) -> list[Frame]:
    """Frames parsed by websockets from `data`."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=mask)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
        else:  # pragma: no cover - all data was fed
            pytest.fail("websockets wanted more data")
    return frames


_opcodes = st.sampled_from([Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG])


@settings(max_examples=150, deadline=None)
@given(opcode=_opcodes, payload=st.binary(max_size=70000), fin=st.booleans())
def test_encoding_matches_websockets(opcode: Opcode, payload: bytes, fin: bool) -> None:
    if opcode >= Opcode.CLOSE:
        payload, fin = payload[:125], True
    ref = Frame(RefOpcode(opcode), payload, fin=fin).serialize(mask=False)
    assert ws_encode_frame(opcode, payload, fin) == ref
    mask = new_mask()
    (parsed,) = ref_parse(ws_encode_frame(opcode, payload, fin, mask), mask=True)
    assert (parsed.opcode, parsed.data, parsed.fin) == (RefOpcode(opcode), payload, fin)


@settings(max_examples=150, deadline=None)
@given(
    messages=st.lists(
        st.one_of(
            st.tuples(st.just(Opcode.TEXT), st.text(max_size=300).map(str.encode)),
            st.tuples(st.just(Opcode.BINARY), st.binary(max_size=300)),
            st.tuples(st.just(Opcode.PING), st.binary(max_size=125)),
        ),
        max_size=10,
    ),
    cut=st.integers(min_value=1, max_value=64),
)
def test_decoding_websockets_frames_at_any_read_size(
    messages: list[tuple[Opcode, bytes]], cut: int
) -> None:
    wire = b"".join(Frame(RefOpcode(op), p).serialize(mask=False) for op, p in messages)
    chunks = [wire[i : i + cut] for i in range(0, len(wire), cut)]
    assert feed_all(WsDecoder(), chunks) == messages
    masked = b"".join(Frame(RefOpcode(op), p).serialize(mask=True) for op, p in messages)
    assert feed_all(WsDecoder("server"), [masked]) == messages


@pytest.mark.parametrize("server_no_context_takeover", [False, True])
def test_client_against_websockets_server(server_no_context_takeover: bool) -> None:
    """Our handshake and decoder against websockets' server, permessage-deflate on."""
    key = new_client_key()
    request = ws_client_request(
        "example.com", "/ws?x=1", key, {"User-Agent": "venuegate"}, permessage_deflate=True
    )
    server = ServerProtocol(
        extensions=[
            ServerPerMessageDeflateFactory(server_no_context_takeover=server_no_context_takeover)
        ]
    )
    server.receive_data(request)
    (req,) = server.events_received()
    assert isinstance(req, Request)
    assert req.path == "/ws?x=1"
    assert req.headers["User-Agent"] == "venuegate"
    server.send_response(server.accept(req))
    messages = [
        (Opcode.TEXT, b'{"e":"trade","p":"67123.45"}' * 20),
        (Opcode.BINARY, b"\x00" * 3000),
    ]
    server.send_text(messages[0][1])
    server.send_binary(messages[1][1])
    server.send_text(b"frag", fin=False)
    server.send_ping(b"mid")
    server.send_continuation(b"mented", fin=True)
    server.send_close(1000, "bye")
    wire = b"".join(server.data_to_send())

    resp = ws_parse_response(wire, key, deflate_offered=True)
    assert resp is not None
    consumed, headers, deflate = resp
    assert ("Upgrade", "websocket") in headers
    assert deflate is not None
    assert deflate[0] is server_no_context_takeover
    decoder = WsDecoder(deflate=True, no_context_takeover=deflate[0])
    out = feed_all(decoder, [wire[consumed : consumed + 7], wire[consumed + 7 :]])
    assert out == [
        *messages,
        (Opcode.PING, b"mid"),
        (Opcode.TEXT, b"fragmented"),
        (Opcode.CLOSE, b"\x03\xe8bye"),
    ]


def test_server_against_websockets_client() -> None:
    """Our server handshake and decoder against websockets' client, and back."""
    client = ClientProtocol(
        parse_uri("ws://example.com/stream"), extensions=[ClientPerMessageDeflateFactory()]
    )
    request = client.connect()
    client.send_request(request)
    parsed = ws_parse_request(b"".join(client.data_to_send()))
    assert parsed is not None
    _, path, key, _, deflate_offered = parsed
    assert (path, deflate_offered) == ("/stream", True)
    assert key == request.headers["Sec-WebSocket-Key"]
    client.receive_data(ws_server_response(key))  # no deflate: plain frames both ways
    (response,) = client.events_received()
    assert isinstance(response, Response)
    assert response.status_code == 101
    assert client.handshake_exc is None

    client.send_text("κόσμε".encode())
    client.send_binary(b"\x01\x02", fin=False)
    client.send_continuation(b"\x03", fin=True)
    client.send_pong(b"p")
    assert feed_all(WsDecoder("server"), [b"".join(client.data_to_send())]) == [
        (Opcode.TEXT, "κόσμε".encode()),
        (Opcode.BINARY, b"\x01\x02\x03"),
        (Opcode.PONG, b"p"),
    ]

    client.receive_data(
        ws_encode_frame(Opcode.TEXT, b"hello") + ws_encode_close(CloseCode.GOING_AWAY, "restart")
    )
    events = client.events_received()
    assert [(f.opcode, f.data) for f in events if isinstance(f, Frame)] == [
        (RefOpcode.TEXT, b"hello"),
        (RefOpcode.CLOSE, Close(1001, "restart").serialize()),
    ]


@settings(max_examples=50, deadline=None)
@given(key=st.binary(min_size=16, max_size=16))
def test_accept_key_matches_websockets(key: bytes) -> None:
    import base64

    k = base64.b64encode(key).decode()
    assert ws_accept_key(k) == ref_accept_key(k)
    assert ws_accept_key(generate_key()) != ws_accept_key(generate_key())


# --- handshake edge cases ----------------------------------------------------------------------


def test_parse_response_waits_and_validates() -> None:
    key = new_client_key()
    resp = ws_server_response(key)
    for cut in range(len(resp)):
        assert ws_parse_response(resp[:cut], key) is None
    trailing = ws_encode_frame(Opcode.TEXT, b"first")
    parsed = ws_parse_response(resp + trailing, key)
    assert parsed is not None
    assert parsed[0] == len(resp)
    assert parsed[2] is None
    with pytest.raises(ProtocolError, match="Sec-WebSocket-Accept"):
        ws_parse_response(resp, new_client_key())
    with pytest.raises(ProtocolError, match="never offered"):
        ws_parse_response(ws_server_response(key, deflate=True), key)
    with pytest.raises(ProtocolError, match="status 403"):
        ws_parse_response(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", key)


def test_client_request_refuses_header_injection() -> None:
    key = new_client_key()
    with pytest.raises(ProtocolError, match="CR, LF or NUL"):
        ws_client_request("example.com", "/", key, [("X-Evil", "a\r\nHost: other")])
    with pytest.raises(TypeError, match="headers"):
        ws_client_request("example.com", "/", key, [("X-Bad", 1)])  # type: ignore[list-item]
    assert ws_client_request("h", "/", key, [("X-A", "1")]).endswith(b"X-A: 1\r\n\r\n")


# --- venue compression helpers -----------------------------------------------------------------


def test_inflate_gzip_and_raw() -> None:
    body = json.dumps({"ch": "market.btcusdt.depth.step0", "tick": {"bids": [[1, 2]] * 50}})
    data = body.encode()
    assert inflate_gzip(gzip.compress(data)) == data
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert inflate_raw(c.compress(data) + c.flush()) == data
    with pytest.raises(ProtocolError) as exc_info:
        inflate_gzip(gzip.compress(data), limit=100)
    assert exc_info.value.close_code == 1009
    with pytest.raises(ProtocolError, match="inflate"):
        inflate_gzip(gzip.compress(data)[:-5])
    with pytest.raises(ProtocolError, match="inflate"):
        inflate_raw(b"\xff\xff\xff")


# --- robustness ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=400),
    role=st.sampled_from(["client", "server"]),
    deflate=st.booleans(),
    cut=st.integers(min_value=1, max_value=50),
)
def test_arbitrary_bytes_raise_only_protocol_error(
    data: bytes, role: str, deflate: bool, cut: int
) -> None:
    decoder = WsDecoder(role, max_message=200, deflate=deflate)  # type: ignore[arg-type]
    codes = set()
    try:
        feed_all(decoder, [data[i : i + cut] for i in range(0, len(data), cut)])
    except ProtocolError as e:
        codes.add(e.close_code)
    assert codes <= {1002, 1007, 1009}
    for parse in (ws_parse_request, lambda b: ws_parse_response(b, "k")):
        try:
            parse(data)
        except ProtocolError as e:
            codes.add(e.close_code)
    assert codes <= {1002, 1007, 1009}
