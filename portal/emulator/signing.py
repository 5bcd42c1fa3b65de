"""Signing keys (made through /stream/keys), the token endpoint's internal key, and playback token checks."""

import base64
import ipaddress
import json
import math
import secrets
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .store import JsonDocument
from .videos import timestamp_now

MAX_KEYS = 1000
MAX_TOKEN_LIFETIME = 24 * 3600
CLOCK_LEEWAY = 60
JWT_OPTIONS = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


class TokenRejected(Exception):
    """A playback token that Cloudflare would refuse; carries the HTTP status and a short reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _b64url_uint(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def private_jwk(private_key, key_id):
    """The private key as Cloudflare's JWK dict (use, kty, kid, alg, n, e, d, p, q, dp, dq, qi)."""
    numbers = private_key.private_numbers()
    public = numbers.public_numbers
    return {
        "use": "sig",
        "kty": "RSA",
        "kid": key_id,
        "alg": "RS256",
        "n": _b64url_uint(public.n),
        "e": _b64url_uint(public.e),
        "d": _b64url_uint(numbers.d),
        "p": _b64url_uint(numbers.p),
        "q": _b64url_uint(numbers.q),
        "dp": _b64url_uint(numbers.dmp1),
        "dq": _b64url_uint(numbers.dmq1),
        "qi": _b64url_uint(numbers.iqmp),
    }


def _pkcs1_pem(private_key):
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _public_pem(private_key):
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def numeric_claim(value):
    """A finite claim given as a number or a numeric string (Cloudflare writes exp/nbf as strings), else None.

    NaN and infinities are refused: a NaN `exp` would compare false against every bound and never expire.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


class SigningKeys:
    """The account's signing keys (public halves only, as Cloudflare keeps them) and the internal token key."""

    def __init__(self, state_dir):
        self.document = JsonDocument(f"{state_dir}/keys.json", {"keys": [], "internal": None})
        self._public_keys = {}
        data = self.document.load()
        if data["internal"] is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            data["internal"] = {"id": secrets.token_hex(16), "privatePem": _pkcs1_pem(key).decode("ascii")}
            self.document.save(data)
        self.internal_id = data["internal"]["id"]
        self._internal_pem = data["internal"]["privatePem"]

    def create(self):
        """Make a new RSA 2048 key; returns Cloudflare's result {id, pem, jwk, created} (shown only once)."""
        with self.document.lock:
            data = self.document.load()
            if len(data["keys"]) >= MAX_KEYS:
                raise ValueError(f"An account can have at most {MAX_KEYS} signing keys")
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key_id = secrets.token_hex(16)
            created = timestamp_now()
            data["keys"].append({"id": key_id, "created": created, "publicPem": _public_pem(key)})
            self.document.save(data)
        jwk_json = json.dumps(private_jwk(key, key_id)).encode("ascii")
        return {
            "id": key_id,
            "pem": base64.b64encode(_pkcs1_pem(key)).decode("ascii"),
            "jwk": base64.b64encode(jwk_json).decode("ascii"),
            "created": created,
        }

    def list(self):
        """The keys as Cloudflare lists them: [{id, created}]."""
        return [{"id": key["id"], "created": key["created"]} for key in self.document.load()["keys"]]

    def revoke(self, key_id):
        """Delete a key, which revokes every token it signed; whether it existed."""
        with self.document.lock:
            data = self.document.load()
            kept = [key for key in data["keys"] if key["id"] != key_id]
            if len(kept) == len(data["keys"]):
                return False
            data["keys"] = kept
            self.document.save(data)
            self._public_keys.pop(key_id, None)
            return True

    def wipe(self):
        """Forget every account key (the internal key stays)."""
        with self.document.lock:
            data = self.document.load()
            data["keys"] = []
            self.document.save(data)
            self._public_keys = {
                key: value for key, value in self._public_keys.items() if key == self.internal_id
            }

    def verification_key(self, key_id):
        """The public key that checks tokens with this kid, or None if unknown or revoked."""
        with self.document.lock:
            if key_id == self.internal_id:
                if key_id not in self._public_keys:
                    private_key = serialization.load_pem_private_key(self._internal_pem.encode("ascii"), None)
                    self._public_keys[key_id] = private_key.public_key()
                return self._public_keys[key_id]
            for key in self.document.load()["keys"]:
                if key["id"] == key_id:
                    if key_id not in self._public_keys:
                        self._public_keys[key_id] = serialization.load_pem_public_key(
                            key["publicPem"].encode()
                        )
                    return self._public_keys[key_id]
        return None

    def mint_token(self, claims, key_id=None, pem=None):
        """Sign `claims` as the token endpoint does: with the internal key, or with a given key id + PEM."""
        if key_id is None:
            key_id, pem = self.internal_id, self._internal_pem
        claims = {**claims, "kid": key_id}
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": key_id})

    def verify_token(self, token, now=None):
        """The claims of a playback token, checked as Cloudflare does; raises TokenRejected."""
        now = time.time() if now is None else now
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRejected(401, "malformed token") from None
        if header.get("alg") != "RS256":
            raise TokenRejected(401, "token must be signed with RS256")
        key = self.verification_key(header.get("kid"))
        if key is None:
            raise TokenRejected(401, "unknown or revoked signing key")
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"], options=JWT_OPTIONS)
        except jwt.InvalidTokenError:
            raise TokenRejected(401, "bad token signature") from None
        if claims.get("kid") != header.get("kid"):
            raise TokenRejected(401, "kid missing from the token payload")
        if not isinstance(claims.get("sub"), str):
            raise TokenRejected(401, "token has no sub")
        expires = numeric_claim(claims.get("exp"))
        if expires is None:
            raise TokenRejected(401, "token has no valid exp")
        if expires <= now:
            raise TokenRejected(401, "token expired")
        # Cloudflare's cap is 24 h from issuing, with no leeway: a token minted with the full 24 h on a
        # clock running a little fast is refused, so the portal must mint inside the cap.
        if expires > now + MAX_TOKEN_LIFETIME:
            raise TokenRejected(401, "token exp is more than 24 hours ahead")
        if "iat" in claims:
            issued = numeric_claim(claims["iat"])
            if issued is None or expires - issued > MAX_TOKEN_LIFETIME:
                raise TokenRejected(401, "token lives longer than 24 hours from its iat")
        if "nbf" in claims:
            not_before = numeric_claim(claims["nbf"])
            if not_before is None or not_before > now + CLOCK_LEEWAY:
                raise TokenRejected(401, "token not yet valid")
        return claims


def _address_listed(address, entries):
    for entry in entries if isinstance(entries, list) else []:
        try:
            if address in ipaddress.ip_network(str(entry), strict=False):
                return True
        except ValueError:
            continue
    return False


def check_access_rules(rules, client_ip):
    """Apply a token's accessRules in order (first match decides); raises TokenRejected on block.

    Geo rules never match: the emulator does not know where an address is.
    """
    if not isinstance(rules, list):
        raise TokenRejected(401, "accessRules must be a list")
    address = ipaddress.ip_address(client_ip) if client_ip else None
    for rule in rules:
        if not isinstance(rule, dict):
            raise TokenRejected(401, "accessRules items must be objects")
        kind = rule.get("type")
        if kind == "any":
            matched = True
        elif kind == "ip.src":
            matched = address is not None and _address_listed(address, rule.get("ip", []))
        else:
            matched = False
        if matched:
            if rule.get("action") == "block":
                raise TokenRejected(403, "blocked by the token's access rules")
            return
