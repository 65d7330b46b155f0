"""A TLS terminator in front of a plain-TCP port, for the OTLP-over-TLS tests:
Python's own `ssl` module (OpenSSL), so it needs nothing but Python 3.

It accepts TLS on 127.0.0.1 with the given certificate and key, negotiates
the ALPN protocols it is given (tonic's gRPC client insists on `h2`; the
OTLP/HTTP exporter speaks `http/1.1`), optionally requires a client
certificate signed by a CA (mutual TLS), and forwards the decrypted bytes to
the backend port on 127.0.0.1.

    python3 tls_terminator.py --cert server.pem --key server.key \
        --backend 4318 [--alpn h2] [--alpn http/1.1] [--client-ca ca.pem]

It listens on a free port and prints that port on the first line of stdout;
everything else goes to stderr (one line per accepted connection, with the
ALPN protocol chosen and the client certificate's common name). It stops
when stdin closes, so it never outlives the test that started it.
"""

import argparse
import asyncio
import os
import ssl
import sys
import threading

CHUNK = 64 * 1024


def tls_context(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(args.client_ca)
    if args.alpn:
        context.set_alpn_protocols(args.alpn)
    return context


def log(message):
    print(message, file=sys.stderr, flush=True)


async def pipe(reader, writer):
    """Copies until either side ends, then closes the writer."""
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    finally:
        writer.close()


def serve(backend):
    async def connection(client_reader, client_writer):
        tls = client_writer.get_extra_info("ssl_object")
        peer = tls.getpeercert() if tls else None
        subject = dict(item for rdn in peer["subject"] for item in rdn) if peer else {}
        log(
            "accepted {} alpn={} client={}".format(
                client_writer.get_extra_info("peername"),
                tls.selected_alpn_protocol() if tls else None,
                subject.get("commonName"),
            )
        )
        try:
            backend_reader, backend_writer = await asyncio.open_connection(
                "127.0.0.1", backend
            )
        except OSError as error:
            log(f"backend 127.0.0.1:{backend} refused: {error}")
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, backend_writer), pipe(backend_reader, client_writer)
        )

    return connection


def stop_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True, help="server certificate chain (PEM)")
    parser.add_argument("--key", required=True, help="server private key (PEM)")
    parser.add_argument("--backend", required=True, type=int, help="plain-TCP port on 127.0.0.1")
    parser.add_argument("--alpn", action="append", default=[], help="ALPN protocol, repeatable")
    parser.add_argument("--client-ca", help="require client certificates signed by this CA")
    args = parser.parse_args()

    server = await asyncio.start_server(
        serve(args.backend), "127.0.0.1", 0, ssl=tls_context(args)
    )
    port = server.sockets[0].getsockname()[1]
    log(f"listening on 127.0.0.1:{port}, forwarding to 127.0.0.1:{args.backend}")
    print(port, flush=True)
    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
