"""What tests/load.py and tests/multihost.py share: the messages they
send, reading one SMTP reply and sending one message.  Imported from
the script's own directory (sys.path[0]); the importers turn off .pyc
writing so the source tree stays clean."""
import hashlib

# Bytes to text: letters, digits and spaces (no line ends, no dots).
TEXT = bytes(b"abcdefghij klmnopqrstuvwxyz0123456789"[i % 37] for i in range(256))


def make_message(rnd, ident, subject):
    """Header lines, an empty line and 1 to 120 body lines (dot lines,
    empty lines, text up to 200 bytes) drawn from rnd; returns the lines
    and the SHA-256 of the body as it must come back (CRLF line ends)."""
    lines = [b"X-Load-Id: %s" % ident.encode(),
             b"Subject: %s %s" % (subject.encode(), ident.encode()), b""]
    for k in range(rnd.randint(1, 120)):
        kind = rnd.random()
        if kind < 0.1:
            lines.append(b"." * rnd.randint(1, 3) + b"dot line %d" % k)
        elif kind < 0.15:
            lines.append(b"")
        else:
            lines.append(rnd.randbytes(rnd.randint(0, 200)).translate(TEXT))
    body = b"\r\n".join(lines[3:]) + b"\r\n"
    return lines, hashlib.sha256(body).hexdigest()


def smtp_reply(f, closed=ConnectionError):
    """The last line of one SMTP reply read from f; raises closed when
    the connection ends first."""
    while True:
        line = f.readline()
        if not line:
            raise closed("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return line


def smtp_send(s, f, ident, lines, closed=ConnectionError):
    """Sends one message over socket s pipelined (MAIL, RCPT, DATA and the
    dot-stuffed lines in one write) and reads its four replies from f.
    Returns None when they were 250 250 354 250, else says which reply
    was wrong (the replies after it are left unread: the caller gives up
    the connection); raises closed when the connection ends first."""
    data = [b"MAIL FROM:<load@test>\r\nRCPT TO:<admin@test>\r\nDATA\r\n"]
    data += [(b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines]
    data.append(b".\r\n")
    s.sendall(b"".join(data))
    for want in (b"250", b"250", b"354", b"250"):
        r = smtp_reply(f, closed)
        if not r.startswith(want):
            return "%s: expected %s, got %r" % (ident, want.decode(), r)
    return None
