"""smtp_record: a loopback SMTP sink that records every Message-ID it gets.

The cluster tests relay the lab nodes' mail here and check, with this
independent count, that every message sent reached its destination, and
when (for delivery latency).  Plain SMTP only (no ESMTP extensions are
offered, so the Postfix client neither pipelines nor uses BDAT); every
read has a timeout and a line cap.

    sink = RecordingSink(); sink.start(); ... sink.ids (dict id -> time)
"""
import re
import socketserver
import threading
import time

MSGID = re.compile(rb"^message-id:\s*(<[^>\r\n]+>)", re.I | re.M)
MAX_LINE = 8192
MAX_DATA = 1 << 20


class _Handler(socketserver.StreamRequestHandler):
    timeout = 60

    def _line(self):
        line = self.rfile.readline(MAX_LINE)
        if not line:
            raise EOFError
        return line

    def handle(self):
        w = self.wfile.write
        w(b"220 rec.test ESMTP mailmon test sink\r\n")
        try:
            while True:
                cmd = self._line().strip().upper()
                if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                    w(b"250 rec.test\r\n")
                elif cmd.startswith(b"DATA"):
                    w(b"354 go ahead\r\n")
                    data, size = [], 0
                    while True:
                        line = self._line()
                        if line in (b".\r\n", b".\n"):
                            break
                        size += len(line)
                        if size <= MAX_DATA:
                            data.append(line)
                    self.server.record(b"".join(data))
                    w(b"250 2.0.0 Ok: recorded\r\n")
                elif cmd.startswith(b"QUIT"):
                    w(b"221 bye\r\n")
                    return
                else:  # MAIL, RCPT, RSET, NOOP
                    w(b"250 2.0.0 Ok\r\n")
        except (EOFError, OSError):
            return


class RecordingSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port = self.server_address[1]
        self.ids = {}          # Message-ID -> first arrival (time.time())
        self.duplicates = 0
        self.lock = threading.Lock()
        self._thread = None

    def record(self, data):
        head = data.split(b"\r\n\r\n", 1)[0]
        m = MSGID.search(head)
        if not m:
            return
        mid = m.group(1).decode(errors="replace")
        with self.lock:
            if mid in self.ids:
                self.duplicates += 1
            else:
                self.ids[mid] = time.time()

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
