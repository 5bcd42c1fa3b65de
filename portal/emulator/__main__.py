"""`python -m portal.emulator`: run the Stream emulator in the foreground."""

import argparse
import logging

from .server import serve


def main(argv=None):
    """Parse --host/--port/--state-dir (plus account and token) and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m portal.emulator", description="Local Cloudflare Stream emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--state-dir", default="instance/stream-emulator")
    parser.add_argument("--account-id", default="emulator-account")
    parser.add_argument("--api-token", default="emulator-token")
    parser.add_argument("--public-url", default=None, help="customer-domain base in video objects")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(
        args.host,
        args.port,
        args.state_dir,
        account_id=args.account_id,
        api_token=args.api_token,
        public_url=args.public_url,
    )


if __name__ == "__main__":
    main()
