"""RS256 JSON Web Tokens for the emulator: an issuer's signing keys, its JWKS, minting, checking.

Checks follow Envoy's ``jwt_verify_lib`` (what Istio's RequestAuthentication
runs), in its order and with its status strings: the token's form, then its
issuer, its time (``nbf``/``exp`` with a clock skew), its audience, then its
key and signature. The other verifiers of the emulator (oauth2-proxy,
oidc-authservice, TokenReview) use the same steps and only care whether
they fail. Keys are RSA-2048, made on first use (about 50 ms each).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

#: Envoy's status strings, as the gateway's 401 body carries them.
BAD_FORM = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"
BAD_HEADER_BASE64 = "Jwt header is an invalid Base64url encoded"
BAD_HEADER_JSON = "Jwt header is an invalid JSON"
BAD_ALG = "Jwt header [alg] field is required and must be a string"
UNSUPPORTED_ALG = "Jwt header [alg] is not supported"
BAD_PAYLOAD_BASE64 = "Jwt payload is an invalid Base64url encoded"
BAD_PAYLOAD_JSON = "Jwt payload is an invalid JSON"
BAD_SIGNATURE_BASE64 = "Jwt signature is an invalid Base64url encoded"
UNKNOWN_ISSUER = "Jwt issuer is not configured"
NOT_YET_VALID = "Jwt not yet valid"
EXPIRED = "Jwt is expired"
AUDIENCE_NOT_ALLOWED = "Audiences in Jwt are not allowed"
NO_MATCHING_KEY = "Jwks doesn't have key to match kid or alg from Jwt"
VERIFICATION_FAILS = "Jwt verification fails"

#: The algorithms Envoy knows; any other (``none`` included) is "not supported".
_ALGORITHMS = frozenset(
    f"{family}{bits}" for family in ("RS", "PS", "ES", "HS") for bits in (256, 384, 512)
) | {"EdDSA"}


class JwtRejected(Exception):
    """A token a verifier refused; ``str()`` is Envoy's status string for the reason."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_json(payload: Mapping[str, Any]) -> str:
    return b64url(json.dumps(payload, separators=(",", ":")).encode())


def _b64url_decode(segment: str) -> bytes:
    if not segment or any(c in segment for c in "+/="):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _int_bytes(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


class SigningKey:
    """One RSA key pair with its key id; the private key is made on first use."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or secrets.token_hex(20)  # Dex's kids are 40 hex digits
        self._private: RSAPrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def private_key(self) -> RSAPrivateKey:
        with self._lock:
            if self._private is None:
                from cryptography.hazmat.primitives.asymmetric import rsa

                self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._private

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verifies(self, data: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self.private_key.public_key().verify(
                signature, data, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return False
        return True

    def jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": b64url(_int_bytes(numbers.n)),
            "e": b64url(_int_bytes(numbers.e)),
        }

    def __repr__(self) -> str:
        return f"<SigningKey kid={self.kid}>"  # never the key


class KeySet:
    """An issuer's keys: the newest signs, all of them verify, as its JWKS publishes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = [SigningKey()]

    @property
    def signing_key(self) -> SigningKey:
        with self._lock:
            return self._keys[-1]

    @property
    def kids(self) -> list[str]:
        """The key ids of the JWKS, oldest first; the last one signs."""
        with self._lock:
            return [key.kid for key in self._keys]

    def rotate(self, *, keep_old: bool = True) -> str:
        """A new signing key, whose kid is returned; the old ones stay in the JWKS if kept."""
        key = SigningKey()
        with self._lock:
            self._keys = [*self._keys, key] if keep_old else [key]
        return key.kid

    def drop(self, kid: str) -> None:
        """Take a key out of the JWKS (tokens it signed stop verifying); the last one stays."""
        with self._lock:
            kept = [key for key in self._keys if key.kid != kid]
            self._keys = kept or self._keys[-1:]

    def key(self, kid: str | None) -> SigningKey | None:
        with self._lock:
            keys = list(self._keys)
        if kid is None:
            return keys[-1]
        return next((key for key in keys if key.kid == kid), None)

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            keys = list(self._keys)
        return {"keys": [key.jwk() for key in reversed(keys)]}

    def sign(self, claims: Mapping[str, Any], *, key: SigningKey | None = None) -> str:
        """A compact RS256 JWT of ``claims``, signed by ``key`` (default: the current key)."""
        return sign(claims, key or self.signing_key)


def sign(
    claims: Mapping[str, Any], key: SigningKey, header: Mapping[str, Any] | None = None
) -> str:
    head = {"alg": "RS256", "kid": key.kid, **(header or {})}
    signing_input = f"{b64url_json(head)}.{b64url_json(claims)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


def with_foreign_signature(token: str) -> str:
    """``token`` re-signed by a key no JWKS holds, its header (and so its kid) unchanged."""
    head, payload, _ = token.split(".")
    signature = SigningKey().sign(f"{head}.{payload}".encode())
    return f"{head}.{payload}.{b64url(signature)}"


@dataclass(frozen=True)
class Jwt:
    """A token split and decoded, not yet trusted."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def issuer(self) -> str:
        return str(self.claims.get("iss", ""))

    @property
    def audiences(self) -> list[str]:
        aud = self.claims.get("aud")
        if isinstance(aud, str):
            return [aud]
        return [str(a) for a in aud] if isinstance(aud, list) else []


def parse(token: str) -> Jwt:
    """Split and decode ``token``, or raise ``JwtRejected`` with Envoy's reason."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtRejected(BAD_FORM)
    head, payload, signature = parts
    header = _decode_json(head, BAD_HEADER_BASE64, BAD_HEADER_JSON)
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise JwtRejected(BAD_ALG)
    if alg not in _ALGORITHMS:
        raise JwtRejected(UNSUPPORTED_ALG)
    claims = _decode_json(payload, BAD_PAYLOAD_BASE64, BAD_PAYLOAD_JSON)
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is not None and not (isinstance(value, int | float) and value == int(value)):
            raise JwtRejected(f"Jwt payload [{name}] field is not an integer")
    try:
        raw_signature = _b64url_decode(signature)
    except (ValueError, binascii.Error):
        raise JwtRejected(BAD_SIGNATURE_BASE64) from None
    return Jwt(header, claims, f"{head}.{payload}".encode(), raw_signature)


def _decode_json(segment: str, bad_base64: str, bad_json: str) -> dict[str, Any]:
    try:
        raw = _b64url_decode(segment)
    except (ValueError, binascii.Error):
        raise JwtRejected(bad_base64) from None
    try:
        value = json.loads(raw)
    except ValueError:
        raise JwtRejected(bad_json) from None
    if not isinstance(value, dict):
        raise JwtRejected(bad_json)
    return value


def check_time(jwt: Jwt, *, skew: float = 0.0, now: float | None = None) -> None:
    """Envoy's ``verifyTimeConstraint``: ``nbf`` and ``exp`` within ``skew`` seconds."""
    now = time.time() if now is None else now
    nbf, exp = jwt.claims.get("nbf"), jwt.claims.get("exp")
    if nbf is not None and now + skew < nbf:
        raise JwtRejected(NOT_YET_VALID)
    if exp is not None and now > exp + skew:
        raise JwtRejected(EXPIRED)


def check_audience(jwt: Jwt, allowed: Iterable[str]) -> None:
    """With audiences configured, one of the token's must be among them."""
    allowed = list(allowed)
    if allowed and not set(jwt.audiences) & set(allowed):
        raise JwtRejected(AUDIENCE_NOT_ALLOWED)


def check_signature(jwt: Jwt, keys: KeySet) -> None:
    """The key named by ``kid`` (any key without one) must have signed the token."""
    kid = jwt.header.get("kid")
    if kid is not None:
        key = keys.key(str(kid))
        if key is None or jwt.header.get("alg") != "RS256":
            raise JwtRejected(NO_MATCHING_KEY)
        candidates = [key]
    else:
        candidates = [k for k in (keys.key(kid) for kid in keys.kids) if k is not None]
    if not any(k.verifies(jwt.signing_input, jwt.signature) for k in candidates):
        raise JwtRejected(VERIFICATION_FAILS)


def verify(
    token: str,
    issuers: Mapping[str, KeySet],
    *,
    audiences: Sequence[str] = (),
    skew: float = 0.0,
    revoked: Container[str] = frozenset(),
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of ``token`` if one of ``issuers`` signed it and it is valid now.

    Raises ``JwtRejected`` naming the first failed step in Envoy's order. A
    token in ``revoked`` fails as expired (the emulator's way to age tokens).
    """
    jwt = parse(token)
    keys = issuers.get(jwt.issuer)
    if keys is None:
        raise JwtRejected(UNKNOWN_ISSUER)
    if token in revoked:
        raise JwtRejected(EXPIRED)
    check_time(jwt, skew=skew, now=now)
    check_audience(jwt, audiences)
    check_signature(jwt, keys)
    return jwt.claims


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a token this emulator minted (not verified: for tests to read)."""
    return parse(token).claims
