"""A TCP proxy between a browser and a server, for tests and benches of uploads: it counts (and
keeps) the bytes the browser sends, can slow them and can cut every connection at once."""

from __future__ import annotations

import socket
import threading
import time


class Proxy:
    """Forwards 127.0.0.1:<port> to the live server; counts the bytes the browser sends (``sent``)
    and keeps them (``traffic``, unless ``keep`` is off); ``rate`` bytes/s slows them; ``cut()`` drops every open
    connection and refuses new ones for ``seconds``."""

    def __init__(self, target: tuple[str, int], *, rate: float = 0.0, keep: bool = True) -> None:
        self.target = target
        self.rate = rate
        self.keep = keep
        self.sent = 0
        self.traffic = bytearray()
        self.down_until = 0.0
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self.down_until:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = source.recv(262144)
                if not data:
                    break
                if upstream:
                    with self.lock:
                        self.sent += len(data)
                        if self.keep:
                            self.traffic += data
                    if self.rate:
                        time.sleep(len(data) / self.rate)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

    def cut(self, seconds: float) -> None:
        self.down_until = time.monotonic() + seconds
        with self.lock:
            for end in self.open:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
            self.open.clear()

    def close(self) -> None:
        self.running = False
        self.listener.close()
        self.cut(0)
