"""The Python service of the cross-language test: a Flask app traced by the
official OpenTelemetry Python SDK, exactly as a Python team would set it up.

GET /quote/<item> reads the `tenant` baggage entry, records it on its span, and
asks the ledger (a Rust service, LEDGER_URL) for the item's balance over HTTP.

The service name and the collector come from the standard environment
(OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT). The address it listens on is
printed on the first line of stdout; it stops, flushing every span, when stdin
closes.
"""

import os
import sys
import threading

import requests
from flask import Flask
from opentelemetry import baggage, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from werkzeug.serving import make_server

provider = TracerProvider(resource=Resource.create())
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)

app = Flask(__name__)
FlaskInstrumentor().instrument_app(app)
RequestsInstrumentor().instrument()

LEDGER_URL = os.environ["LEDGER_URL"]


@app.route("/quote/<int:item>")
def quote(item):
    tenant = baggage.get_baggage("tenant") or "nobody"
    trace.get_current_span().set_attribute("tenant", tenant)
    balance = requests.get(f"{LEDGER_URL}/balance/{item}", timeout=10)
    balance.raise_for_status()
    return f"quote {item} for {tenant} ({balance.text})"


def main():
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"http=127.0.0.1:{server.server_port}", flush=True)
    serving = threading.Thread(target=server.serve_forever)
    serving.start()
    sys.stdin.read()
    server.shutdown()
    serving.join()
    provider.shutdown()


if __name__ == "__main__":
    main()
