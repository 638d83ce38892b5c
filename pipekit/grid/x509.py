"""
Reading X.509 proxy files without any grid tool or crypto library: the PEM blocks of a proxy
file, the fields of each certificate pipekit needs (subject, issuer, validity, whether it is a
proxy) and the VOMS attribute certificates a VOMS proxy carries (VO, FQANs, their own validity).

This is a reader, not a verifier: signatures are not checked (the services that receive the
proxy do that). It exists so that a lifetime check before a submission costs well under a
millisecond, works where ``voms-proxy-info`` is not installed, and gives the same answers: the
tests compare it with ``voms-proxy-info`` and ``arcproxy -I`` on real proxies.

DER is read with a small tag-length-value walker; only the structures of RFC 5280 (certificates),
RFC 3820 (proxy certificates) and RFC 5755 / the VOMS AC format are interpreted.
"""

from __future__ import annotations

import base64
import calendar
import re
from dataclasses import dataclass, field

__all__ = ["Certificate", "AttributeCertificate", "ProxyFile", "read_proxy_file", "parse_pem",
           "X509FormatError"]

#: X.509 extension marking an RFC 3820 proxy (and the pre-RFC "draft" variant of GT3)
_OID_PROXY_RFC = "1.3.6.1.5.5.7.1.14"
_OID_PROXY_DRAFT = "1.3.6.1.4.1.3536.1.222"
#: the extension holding VOMS attribute certificates, and the FQAN attribute inside one
_OID_VOMS_ACSEQ = "1.3.6.1.4.1.8005.100.100.5"
_OID_VOMS_FQANS = "1.3.6.1.4.1.8005.100.100.4"

#: short names of DN components, as the grid tools print them (slash form)
_DN_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
    "2.5.4.11": "OU", "2.5.4.5": "serialNumber", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID", "1.2.840.113549.1.9.1": "emailAddress",
}

_SEQUENCE, _SET, _INTEGER, _OCTETS, _OID, _BOOLEAN = 0x30, 0x31, 0x02, 0x04, 0x06, 0x01
_UTCTIME, _GENTIME = 0x17, 0x18


class X509FormatError(ValueError):
    """The data is not a certificate (or proxy file) pipekit can read."""


@dataclass
class AttributeCertificate:
    """One VOMS attribute certificate: the VO, its FQANs, who issued it and when it expires."""

    vo: str | None
    fqans: list[str]
    issuer: str
    not_before: float
    not_after: float
    #: the VOMS server as ``host:port`` (from the AC's policy authority), when it says so
    uri: str | None = None


@dataclass
class Certificate:
    """The fields of one X.509 certificate that credential checks need (times: epoch seconds)."""

    subject: str
    issuer: str
    not_before: float
    not_after: float
    #: "rfc3820", "draft" or "legacy" for proxy certificates, None for end-entity/CA certificates
    proxy_type: str | None = None
    voms: list[AttributeCertificate] = field(default_factory=list)

    @property
    def is_proxy(self) -> bool:
        return self.proxy_type is not None


@dataclass
class ProxyFile:
    """A proxy file: its certificate chain (the proxy first) and whether it holds a private key."""

    path: str
    chain: list[Certificate]
    has_key: bool

    @property
    def proxy(self) -> Certificate:
        return self.chain[0]

    @property
    def identity(self) -> str:
        """The subject of the first non-proxy certificate: the person (``voms-proxy-info --identity``)."""
        for cert in self.chain:
            if not cert.is_proxy:
                return cert.subject
        # a chain without its end-entity certificate: strip the proxy CNs from the subject
        return re.sub(r"(/CN=(proxy|limited proxy|\d+))+$", "", self.proxy.subject)

    @property
    def not_after(self) -> float:
        """When the first certificate of the chain expires (a proxy dies with its issuer)."""
        return min(c.not_after for c in self.chain)

    @property
    def not_before(self) -> float:
        return max(c.not_before for c in self.chain)

    @property
    def voms(self) -> list[AttributeCertificate]:
        """The VOMS attribute certificates of the proxy (the first one is the primary VO)."""
        return [ac for cert in self.chain for ac in cert.voms]


# -- DER ---------------------------------------------------------------------------------------


def _tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, content, position after it) of the element at *pos*."""
    try:
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:  # high tag numbers: not used by X.509, skipped over correctly
            while data[pos] & 0x80:
                pos += 1
            pos += 1
        length = data[pos]
        pos += 1
        if length & 0x80:
            n = length & 0x7F
            if n == 0 or n > 4:
                raise X509FormatError("unsupported DER length")
            length = int.from_bytes(data[pos:pos + n], "big")
            pos += n
    except IndexError:
        raise X509FormatError("truncated DER data") from None
    end = pos + length
    if end > len(data):
        raise X509FormatError("truncated DER data")
    return tag, data[pos:end], end


def _children(content: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(content):
        tag, value, pos = _tlv(content, pos)
        out.append((tag, value))
    return out


def _oid(content: bytes) -> str:
    if not content:
        return ""
    parts = [min(content[0] // 40, 2)]
    parts.append(content[0] - 40 * parts[0])
    value = 0
    for b in content[1:]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def _string(tag: int, content: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return content.decode("utf-16-be", errors="replace")
    if tag == 0x14:  # T61String: in practice Latin-1
        return content.decode("latin-1")
    return content.decode("utf-8", errors="replace")


def _time(tag: int, content: bytes) -> float:
    text = content.decode("ascii", errors="replace").rstrip("Z")
    text = text.split(".")[0]  # fractional seconds of GeneralizedTime
    try:
        if tag == _UTCTIME:
            year = int(text[:2])
            year += 2000 if year < 50 else 1900  # RFC 5280: 50..99 mean 19xx
            rest = text[2:]
        elif tag == _GENTIME:
            year, rest = int(text[:4]), text[4:]
        else:
            raise X509FormatError(f"expected a time, got tag {tag:#x}")
        month, day, hour, minute = (int(rest[i:i + 2]) for i in range(0, 8, 2))
        second = int(rest[8:10] or 0)
    except ValueError:
        raise X509FormatError(f"cannot read the time {text!r}") from None
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))


def _name(content: bytes) -> str:
    """A DN in the slash form the grid tools print (``/DC=org/DC=example/CN=Jane Doe``)."""
    parts = []
    for tag, rdn in _children(content):
        if tag != _SET:
            continue
        for _, atv in _children(rdn):
            kids = _children(atv)
            if len(kids) >= 2 and kids[0][0] == _OID:
                oid = _oid(kids[0][1])
                parts.append(f"/{_DN_NAMES.get(oid, oid)}={_string(*kids[1])}")
    return "".join(parts)


def _is_name(tag: int, content: bytes) -> bool:
    if tag != _SEQUENCE:
        return False
    try:
        kids = _children(content)
    except X509FormatError:
        return False
    return bool(kids) and all(t == _SET for t, _ in kids)


# -- certificates ------------------------------------------------------------------------------


def parse_certificate(der: bytes) -> Certificate:
    """The :class:`Certificate` of one DER-encoded certificate."""
    tag, cert, _ = _tlv(der, 0)
    if tag != _SEQUENCE:
        raise X509FormatError("not a certificate")
    parts = _children(cert)
    if not parts or parts[0][0] != _SEQUENCE:
        raise X509FormatError("not a certificate")
    tbs = _children(parts[0][1])
    if tbs and tbs[0][0] == 0xA0:  # [0] version
        tbs = tbs[1:]
    if len(tbs) < 6:
        raise X509FormatError("certificate without subject or validity")
    issuer, validity, subject = tbs[2][1], _children(tbs[3][1]), tbs[4][1]
    if len(validity) != 2:
        raise X509FormatError("certificate without validity")
    out = Certificate(subject=_name(subject), issuer=_name(issuer),
                      not_before=_time(*validity[0]), not_after=_time(*validity[1]))
    for tag, value in tbs[6:]:
        if tag == 0xA3:  # [3] extensions
            _read_extensions(out, value)
    if out.proxy_type is None and re.search(r"/CN=(proxy|limited proxy)$", out.subject) \
            and out.subject.startswith(out.issuer):
        out.proxy_type = "legacy"  # Globus 2 proxies have no extension, only this naming
    return out


def _read_extensions(cert: Certificate, content: bytes) -> None:
    for _, seq in _children(content):
        for _, ext in _children(seq):
            kids = _children(ext)
            if not kids or kids[0][0] != _OID:
                continue
            oid = _oid(kids[0][1])
            value = next((v for t, v in kids[1:] if t == _OCTETS), b"")
            if oid == _OID_PROXY_RFC:
                cert.proxy_type = "rfc3820"
            elif oid == _OID_PROXY_DRAFT:
                cert.proxy_type = "draft"
            elif oid == _OID_VOMS_ACSEQ:
                cert.voms.extend(_attribute_certificates(value))


def _attribute_certificates(data: bytes) -> list[AttributeCertificate]:
    """Every attribute certificate inside the VOMS extension value (nested SEQUENCEs)."""
    found: list[AttributeCertificate] = []

    def walk(tag: int, content: bytes, depth: int) -> None:
        if tag != _SEQUENCE or depth > 4:
            return
        kids = _children(content)
        # AttributeCertificate ::= SEQUENCE { acinfo SEQUENCE { version INTEGER, ... }, ... }
        if len(kids) == 3 and kids[0][0] == _SEQUENCE:
            info = _children(kids[0][1])
            if info and info[0][0] == _INTEGER:
                found.append(_attribute_certificate(info))
                return
        for t, c in kids:
            walk(t, c, depth + 1)

    try:
        tag, content, _ = _tlv(data, 0)
        walk(tag, content, 0)
    except X509FormatError:
        pass  # an unreadable AC leaves the proxy readable, just without VO information
    return found


def _attribute_certificate(info: list[tuple[int, bytes]]) -> AttributeCertificate:
    issuer = ""
    validity: list[tuple[int, bytes]] = []
    attributes: list[tuple[int, bytes]] = []
    for i, (tag, content) in enumerate(info):
        if tag == 0xA0 and not issuer:  # v2Form: issuerName GeneralNames -> directoryName
            issuer = _find_name(content)
        elif tag == _SEQUENCE and not validity:
            kids = _children(content)
            if len(kids) == 2 and all(t == _GENTIME for t, _ in kids):
                validity = kids
                if i + 1 < len(info) and info[i + 1][0] == _SEQUENCE:
                    attributes = _children(info[i + 1][1])
    if not validity:
        raise X509FormatError("attribute certificate without validity")
    vo, uri, fqans = None, None, []
    for _, attr in attributes:
        kids = _children(attr)
        if len(kids) < 2 or kids[0][0] != _OID or _oid(kids[0][1]) != _OID_VOMS_FQANS:
            continue
        for _, syntax in _children(kids[1][1]):  # SET OF IetfAttrSyntax
            for tag, part in _children(syntax):
                if tag == 0xA0:  # policyAuthority: "vo://host:port" as a URI GeneralName
                    for t, gn in _children(part):
                        if t == 0x86:
                            text = gn.decode("utf-8", errors="replace")
                            vo, _, uri = text.partition("://")
                elif tag == _SEQUENCE:
                    fqans += [v.decode("utf-8", errors="replace") for t, v in _children(part)
                              if t in (_OCTETS, 0x0C)]
    if vo is None and fqans:
        vo = fqans[0].strip("/").split("/")[0] or None
    return AttributeCertificate(vo=vo, fqans=fqans, issuer=issuer, not_before=_time(*validity[0]),
                                not_after=_time(*validity[1]), uri=uri or None)


def _find_name(content: bytes, depth: int = 0) -> str:
    if depth > 4:
        return ""
    for tag, value in _children(content):
        if tag == 0xA4:  # directoryName [4] EXPLICIT Name
            kids = _children(value)
            if kids and _is_name(*kids[0]):
                return _name(kids[0][1])
        if tag & 0x20:  # constructed: look inside
            found = _find_name(value, depth + 1)
            if found:
                return found
    return ""


# -- PEM ---------------------------------------------------------------------------------------

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def parse_pem(data: bytes) -> list[tuple[str, bytes]]:
    """``(label, DER bytes)`` of every PEM block in *data*, in order."""
    out = []
    for m in _PEM.finditer(data):
        try:
            out.append((m.group(1).decode(), base64.b64decode(b"".join(m.group(2).split()))))
        except ValueError:
            raise X509FormatError(f"a {m.group(1).decode()} block is not valid base64") from None
    return out


def read_proxy_file(path: str, data: bytes | None = None) -> ProxyFile:
    """
    The certificate chain of the proxy file at *path* (or of *data*). Raises
    :class:`X509FormatError` when it holds no certificate; :class:`OSError` when unreadable.
    """
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    blocks = parse_pem(data)
    chain = [parse_certificate(der) for label, der in blocks if label == "CERTIFICATE"]
    if not chain:
        raise X509FormatError("no certificate in it")
    has_key = any(label.endswith("PRIVATE KEY") for label, _ in blocks)
    return ProxyFile(path=path, chain=chain, has_key=has_key)
