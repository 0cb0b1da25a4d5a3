"""A small SMTP server on a loopback port for tests: speaks enough RFC 5321 for smtplib
(EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps each message it accepted."""

from __future__ import annotations

import email
import socketserver
import threading
from email.message import Message


class SMTPServer:
    def __init__(self, refuse: bool = False) -> None:
        self.messages: list[Message] = []
        self.refuse = refuse
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self) -> None:
                self.reply("220 localhost tokenlake-test ESMTP")
                data: list[bytes] | None = None
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    if data is not None:  # inside DATA
                        if raw in (b".\r\n", b".\n"):
                            outer.messages.append(email.message_from_bytes(b"".join(data)))
                            data = None
                            self.reply("250 OK: queued")
                        else:
                            data.append(raw[1:] if raw.startswith(b"..") else raw)
                        continue
                    verb = raw.decode(errors="replace").strip().split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
                    elif verb == "HELO" or verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "MAIL":
                        self.reply("550 refused" if outer.refuse else "250 OK")
                    elif verb == "RCPT":
                        self.reply("250 OK")
                    elif verb == "DATA":
                        data = []
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 not implemented")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
