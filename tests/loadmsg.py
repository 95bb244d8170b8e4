"""What tests/load.py and tests/multihost.py share: the messages they
send and reading one SMTP reply.  Imported from the script's own
directory (sys.path[0]); the importers turn off .pyc writing so the
source tree stays clean."""
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
