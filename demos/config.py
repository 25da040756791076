"""A demo's typed config as command-line options, and the checks every config shares.

Each field of a demo's `Config` dataclass becomes `--field-name`; its type decides the
parsing (int, float, str, bool as --x/--no-x, Literal as choices, tuple[int, ...] as a list)
and `field(metadata={"help": ...})` its help text. Options left out keep the preset's value:
`Config()` is the full preset, `Config.quick()` the quick one.

Values are checked twice. Parsing refuses what no option can take: a number that is not finite
(`inf`, `nan`), an integer beyond `MAX_INT` (torch and numpy overflow on those), an empty
string. Each config then checks its own ranges in `__post_init__` and raises `UserError`, so an
impossible config never reaches a demo; the range helpers here refuse non-finite values too.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from collections.abc import Callable
from typing import Any, ClassVar, Literal, Protocol, Self, TypeVar

from learnapp.errors import UserError


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)


def at_least(config: Any, minimum: float, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        finite(value, name)
        require(value >= minimum, f"{option(name)} {value}: must be at least {minimum}")


def positive(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        finite(value, name)
        require(value > 0, f"{option(name)} {value}: must be positive")


def finite(value: float, name: str) -> None:
    require(math.isfinite(value), f"{option(name)} {value}: must be a finite number")


def at_most(config: Any, name: str, limit: str) -> None:
    """`name` may not exceed the field `limit` (e.g. sampling steps and the training timesteps)."""
    value, bound = getattr(config, name), getattr(config, limit)
    require(value <= bound, f"{option(name)} {value}: at most {option(limit)} ({bound})")


def unet_widths(widths: tuple[int, ...]) -> None:
    """UNet2DModel block widths: two or more, each a multiple of 8 (its group norms need it)."""
    require(
        len(widths) >= 2 and all(c >= 8 and c % 8 == 0 for c in widths),
        f"--unet-channels {' '.join(map(str, widths))}: need two or more widths, multiples of 8",
    )


def halvable(size: int, times: int, name: str = "image_size") -> None:
    """A UNet that downsamples `times` times needs a size divisible by 2**times."""
    step = 2**times
    require(
        size >= step and size % step == 0,
        f"{option(name)} {size}: the UNet halves it {times} times, so it must be a multiple of {step}",
    )


def add_options(parser: argparse.ArgumentParser, config_class: type, full: Any, quick: Any) -> None:
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        hint = hints[field.name]
        default = getattr(full, field.name)
        quick_value = getattr(quick, field.name)
        shown = _show(default) + ("" if quick_value == default else f"; --quick: {_show(quick_value)}")
        kwargs: dict[str, Any] = {
            "dest": field.name,
            "default": argparse.SUPPRESS,  # unset options keep the preset's value
            "help": f"{field.metadata.get('help', '')} (default: {shown})".strip(),
        }
        if hint is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(hint) is Literal:
            choices = typing.get_args(hint)
            kwargs.update(choices=choices, type=type(choices[0]))
        elif typing.get_origin(hint) is tuple:
            kwargs.update(nargs="+", type=PARSERS[typing.get_args(hint)[0]], metavar="N")
        elif hint in PARSERS:
            kwargs.update(type=PARSERS[hint], metavar=hint.__name__.upper())
        else:
            raise TypeError(f"{config_class.__name__}.{field.name}: no command-line form for {hint}")
        parser.add_argument(option(field.name), **kwargs)


MAX_INT = 2**31 - 1  # beyond any count, size or seed a demo can use; torch and numpy seeds overflow at 2**64


def _int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if abs(value) > MAX_INT:
        raise argparse.ArgumentTypeError(f"{text} is out of range (at most {MAX_INT:,} either way)")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def _str(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty value; leave the option out to keep its default")
    return text


# How each field type's values are read from the command line (argparse prefixes the option's name).
PARSERS: dict[Any, Callable[[str], Any]] = {int: _int, float: _float, str: _str}


class DemoConfig(Protocol):
    """A demo's Config: a dataclass whose defaults are the full run, with `quick()` the short one."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    @classmethod
    def quick(cls) -> Self: ...


ConfigT = TypeVar("ConfigT", bound=DemoConfig)


def from_args(config_class: type[ConfigT], args: argparse.Namespace, quick: bool) -> ConfigT:
    base = config_class.quick() if quick else config_class()
    names = {field.name for field in dataclasses.fields(config_class)}
    overrides = {name: value for name, value in vars(args).items() if name in names}
    for name, value in overrides.items():
        if isinstance(value, list):
            overrides[name] = tuple(value)
    return dataclasses.replace(base, **overrides)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return str(value)
