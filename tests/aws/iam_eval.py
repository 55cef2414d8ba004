"""A small IAM policy evaluator for the least-privilege tests: identity policies and KMS key policies as JSON
documents (what Terraform renders), one request at a time.

It follows AWS's rules for what it supports and refuses everything else loudly (ValueError), so a policy that
grows a construct the tests cannot judge fails the tests instead of passing them:
- Effect Allow/Deny; an explicit Deny wins, nothing allowed is an implicit deny.
- Action and Resource with `*` and `?` wildcards (actions case-insensitive); NotAction, NotResource and
  NotPrincipal are refused.
- Condition operators StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals, ArnLike, Bool, and
  the ForAllValues:/ForAnyValue: set forms of the string ones; a key missing from the request's context makes
  a plain condition false (and ForAllValues true), as in AWS.
- Principal (key policies): `*`, an account root (`arn:aws:iam::<account>:root`: the key policy leaves the
  decision to the caller's IAM policy) or a principal ARN.
A request whose resource ends in `*` is a listing by prefix (DescribeAlarms with AlarmNamePrefix): a statement
covers it when its resource pattern covers every name with that prefix.
Not modelled: SCPs, permission boundaries, session policies, resource policies other than key policies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "deny", "implicit"]
STRING_OPERATORS = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "ArnEquals", "ArnLike", "Bool"}


@dataclass(frozen=True)
class Request:
    principal: str  # ARN of the caller
    action: str  # e.g. ssm:PutParameter
    resource: str  # ARN, `*`, or a prefix ending in `*`
    context: dict[str, str | list[str]] = field(default_factory=dict)


def _pattern(text: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return bool(_pattern(pattern, ignore_case=ignore_case).match(value))


def covers(pattern: str, resource: str) -> bool:
    if not resource.endswith("*"):
        return matches(pattern, resource)
    prefix = resource[:-1]
    if pattern == "*":
        return True
    if pattern.endswith("*") and "*" not in pattern[:-1] and "?" not in pattern:
        return prefix.startswith(pattern[:-1])
    return False


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _compare(operator: str, wanted: str, actual: str) -> bool:
    if operator in {"StringEquals", "ArnEquals"}:
        return actual == wanted
    if operator == "Bool":
        return actual.lower() == wanted.lower()
    if operator in {"StringLike", "ArnLike"}:
        return matches(wanted, actual)
    raise ValueError(f"condition operator {operator} is not modelled")


def condition_holds(operator: str, key: str, wanted: list[str], context: dict[str, str | list[str]]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    negated = base in {"StringNotEquals", "StringNotLike"}
    positive = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike"}.get(base, base)
    if base not in STRING_OPERATORS or qualifier not in {"", "ForAllValues", "ForAnyValue"}:
        raise ValueError(f"condition operator {operator} is not modelled")
    if key not in context:
        return qualifier == "ForAllValues" or (negated and qualifier == "")
    values = [str(v) for v in _listed(context[key])]
    if qualifier == "ForAllValues":
        result = all(any(_compare(positive, w, v) for w in wanted) for v in values)
    elif qualifier == "ForAnyValue":
        result = any(any(_compare(positive, w, v) for w in wanted) for v in values)
    else:
        if len(values) != 1:
            raise ValueError(f"{key} has several values: use ForAllValues/ForAnyValue")
        result = any(_compare(positive, w, values[0]) for w in wanted)
    return not result if negated else result


def _principal_matches(statement: dict[str, Any], principal: str) -> bool:
    if "NotPrincipal" in statement:
        raise ValueError("NotPrincipal is not modelled")
    if "Principal" not in statement:
        return True  # an identity policy: the statement applies to the role it is attached to
    given = statement["Principal"]
    if given == "*":
        return True
    arns = [str(a) for a in _listed(given.get("AWS", []))] if isinstance(given, dict) else []
    return "*" in arns or principal in arns


@dataclass
class Policy:
    document: dict[str, Any]
    name: str = "policy"

    @property
    def statements(self) -> list[dict[str, Any]]:
        return [dict(s) for s in _listed(self.document.get("Statement", []))]

    def applies(self, statement: dict[str, Any], request: Request) -> bool:
        for forbidden in ("NotAction", "NotResource"):
            if forbidden in statement:
                raise ValueError(f"{self.name}: {forbidden} is not modelled (sid {statement.get('Sid')})")
        if not _principal_matches(statement, request.principal):
            return False
        if not any(matches(str(a), request.action, ignore_case=True) for a in _listed(statement["Action"])):
            return False
        if not any(covers(str(r), request.resource) for r in _listed(statement.get("Resource", "*"))):
            return False
        for operator, keys in statement.get("Condition", {}).items():
            for key, wanted in keys.items():
                if not condition_holds(operator, key, [str(w) for w in _listed(wanted)], request.context):
                    return False
        return True

    def decide(self, request: Request) -> tuple[Decision, str | None]:
        """The decision and the Sid (or index) of the statement that made it."""
        allowed: str | None = None
        for index, statement in enumerate(self.statements):
            if not self.applies(statement, request):
                continue
            sid = str(statement.get("Sid") or f"#{index}")
            if statement.get("Effect") == "Deny":
                return "deny", sid
            allowed = allowed or sid
        return ("allow", allowed) if allowed else ("implicit", None)


def root_of(principal: str) -> str:
    account = principal.split(":")[4]
    partition = principal.split(":")[1]
    return f"arn:{partition}:iam::{account}:root"


def kms_decide(request: Request, identity: Policy, key_policy: Policy) -> tuple[Decision, str]:
    """KMS: the key policy decides; a key policy statement for the account root hands the decision to the
    caller's identity policy (both must allow then). An explicit Deny in either wins."""
    named, named_sid = key_policy.decide(request)
    own, own_sid = identity.decide(request)
    if "deny" in (named, own):
        return "deny", f"denied by {named_sid if named == 'deny' else own_sid}"
    if named == "allow":  # a statement naming the caller (or `*`): the key policy alone grants it
        return "allow", f"key policy {named_sid}"
    delegated, delegated_sid = key_policy.decide(
        Request(root_of(request.principal), request.action, request.resource, request.context)
    )
    if delegated == "allow" and own == "allow":
        return "allow", f"key policy {delegated_sid} (account) and identity policy {own_sid}"
    return "implicit", "neither the key policy nor (through the account) the role's policy allows it"
