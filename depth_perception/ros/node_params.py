"""Declare a node's parameters from its spec table; validate start-up values and live changes alike.

- Start-up: every override (yaml, `-p`, launch) is checked by `params.validate` (types, ranges,
  cross-parameter rules) BEFORE it is declared, so a bad value gives one line naming the
  parameter. Whole numbers for decimal parameters (`depth_scale: 2`) are widened to float:
  rclpy would otherwise refuse them with InvalidParameterTypeException.
- Descriptors carry the unit, the range (FloatingPointRange / IntegerRange) and read_only for
  everything that cannot change at run time, so `ros2 param describe` shows them and
  `ros2 param set` on a read-only parameter is refused by rclpy with a reason.
- Run time: a pre-set callback widens ints to floats, the on-set callback runs the same
  validation on the would-be values and refuses with the reason, the post-set callback hands
  the accepted values to `apply(changes)`.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.node import Node
from rclpy.parameter import Parameter

from .. import params as P


def descriptor(spec: P.ParamSpec) -> ParameterDescriptor:
    d = ParameterDescriptor(description=spec.full_description, read_only=not spec.live)
    if spec.range is not None:
        lo, hi = spec.range
        if isinstance(spec.default, float):
            d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
        else:
            d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=int(spec.step))]
    if spec.choices:
        d.additional_constraints = f'one of: {", ".join(spec.choices)}'
    return d


class DeclaredParams:
    """The validated values of a node's parameters, kept current under `ros2 param set`."""

    def __init__(self, node: Node, specs: Iterable[P.ParamSpec], rules: Iterable[P.Rule],
                 apply: Callable[[dict[str, Any]], None] | None = None):
        self.specs = {s.name: s for s in specs}
        self.rules = tuple(rules)
        self._node = node
        self._apply = apply
        # rclpy keeps command-line, yaml and constructor overrides here; reading them lets us
        # validate (and widen) them before rclpy's strict type check would abort the node.
        overrides = {name: p.value for name, p in getattr(node, '_parameter_overrides', {}).items()
                     if name in self.specs}
        self.values = P.validate({**P.defaults(self.specs.values()), **overrides},
                                 self.specs.values(), self.rules, complete=True)
        for name, spec in self.specs.items():
            node.declare_parameter(name, self.values[name], descriptor(spec), ignore_override=True)
        node.add_pre_set_parameters_callback(self._widen)
        node.add_on_set_parameters_callback(self._check)
        node.add_post_set_parameters_callback(self._accepted)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def _widen(self, parameters: list[Parameter]) -> list[Parameter]:
        out = []
        for p in parameters:
            spec = self.specs.get(p.name)
            if spec is not None and isinstance(spec.default, float) and p.type_ == Parameter.Type.INTEGER:
                p = Parameter(p.name, Parameter.Type.DOUBLE, float(p.value))
            out.append(p)
        return out

    def _check(self, parameters: list[Parameter]) -> SetParametersResult:
        mine = {p.name: p.value for p in parameters if p.name in self.specs}
        if not mine:
            return SetParametersResult(successful=True)
        frozen = [n for n in mine if not self.specs[n].live and mine[n] != self.values[n]]
        if frozen:   # declaration itself passes here (same value); read_only refuses later sets
            return SetParametersResult(successful=False, reason=f'{", ".join(frozen)}: read-only at run time')
        try:
            P.validate({**self.values, **mine}, self.specs.values(), self.rules, complete=True)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _accepted(self, parameters: list[Parameter]) -> None:
        changes = {p.name: self.specs[p.name].check(p.value) for p in parameters
                   if p.name in self.specs and p.value != self.values.get(p.name)}
        if not changes:
            return
        self.values = {**self.values, **changes}   # one assignment: readers see old or new
        if self._apply is not None:
            self._apply(changes)
