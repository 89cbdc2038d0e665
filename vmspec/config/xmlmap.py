"""The one generic engine that turns declared dataclasses into XML and back.

A config class is a frozen dataclass with ``TAG`` (its element name) whose fields
are declared with ``attr``, ``text``, ``child``, ``children``, ``flag`` or
``text_child``, or ``elements_of_other_namespaces``. Field order is XML order:
attributes in the order declared, then content in the order declared. Values that are ``None`` (or empty, or
False for flags) are left out, so defaults never hide in the mapping: policy
lives in lowering. Parsing records every attribute and element that the mapping
does not cover, as XPaths, so import can say exactly what it would lose.

A secret (a display's password) is an attribute declared ``attr(name, secret=True)``:
emitted as it is for libvirt, but shown as ``SECRET`` wherever a value is shown to a
person (a plan's changes, a config object's repr, ``to_element(..., masked=True)``).

Variants (libvirt's ``type=`` elements whose attributes and children differ by type)
are tagged unions: one class per variant, each naming its tag value with
``discriminator("type", "emulator")``, and a field typed as the union of them
(``TpmEmulator | TpmPassthrough | None``). Parsing picks the class by the attribute;
a value no variant names is reported as uncovered, like any other unknown.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Protocol, TypeVar

from lxml import etree


class XmlElement(Protocol):
    TAG: ClassVar[str]


T = TypeVar("T")

# Every config class is a frozen, slotted, keyword-only dataclass: @config_class, or
# @dataclass(**CONFIG), which is the same at about twice the import cost.
CONFIG: dict[str, bool] = {"frozen": True, "slots": True, "kw_only": True}
_XML = "vmspec.xml"
SECRET = "(secret)"
"""What a secret's value shows as, whatever it is."""


def config_class(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True, slots=True, kw_only=True)``, cheaper to define.

    The standard library compiles each generated method (``__init__``, ``__repr__``,
    ``__eq__``, ``__hash__``, the frozen ``__setattr__`` and ``__delattr__``) with an
    ``exec`` of its own: ~0.6 ms of CPU per class in Python 3.11, and vmspec defines
    well over a hundred before it compiles one spec. Here only ``__init__`` is compiled
    (one ``exec``); the rest are shared functions driven by the class's field names.
    ``dataclasses.fields``, ``replace`` and ``is_dataclass`` work as for any dataclass.
    """
    made = _slotted_dataclass(cls)
    names = tuple(field.name for field in dataclasses.fields(made))
    made.__config_fields__ = names
    made.__config_secrets__ = frozenset(
        field.name
        for field in dataclasses.fields(made)
        if getattr(field.metadata.get(_XML), "secret", False)
    )
    made.__config_values__ = staticmethod(_values_of(names))
    made.__init__ = _frozen_init(made)
    made.__repr__ = _config_repr
    made.__eq__ = _config_eq
    made.__hash__ = _config_hash
    made.__setattr__ = _frozen_setattr
    made.__delattr__ = _frozen_delattr
    made.__getstate__ = _config_getstate
    made.__setstate__ = _config_setstate
    return made


# What @dataclass records of its parameters, the same for every config class.
_PARAMETERS = dataclasses._DataclassParams(  # type: ignore[attr-defined]
    init=False, repr=False, eq=False, order=False, unsafe_hash=False, frozen=True
)


def _slotted_dataclass(cls: type[T]) -> type[T]:
    """What ``dataclass(slots=True, kw_only=True, init=False, repr=False, eq=False)``
    makes of a config class, at a third of its cost: the fields (a base config class's
    first, as dataclass orders them), ``__dataclass_fields__`` (so ``fields``,
    ``replace`` and ``is_dataclass`` work), and the class made again with ``__slots__``.
    Config classes need none of dataclass's general cases: annotations are strings
    (``from __future__ import annotations``), ClassVars are spelt ``ClassVar[...]``,
    and there are no InitVars or positional fields."""
    fields: dict[str, dataclasses.Field] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(getattr(base, "__dataclass_fields__", {}))
    own: list[str] = []
    for name, annotation in inspect.get_annotations(cls).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        default = cls.__dict__.get(name, dataclasses.MISSING)
        field = (
            default
            if isinstance(default, dataclasses.Field)
            else dataclasses.field(default=default)
        )
        field.name, field.type, field.kw_only = name, annotation, True
        field._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
        fields[name] = field
        own.append(name)
    namespace = {
        key: value
        for key, value in cls.__dict__.items()
        if key not in own and key not in ("__dict__", "__weakref__")
    }
    namespace["__slots__"] = tuple(own)
    namespace["__dataclass_fields__"] = fields
    namespace["__dataclass_params__"] = _PARAMETERS
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _values_of(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda _record: ()
    if len(names) == 1:
        only = names[0]
        return lambda record: (getattr(record, only),)
    return operator.attrgetter(*names)


def _frozen_init(cls: type) -> Callable[..., None]:
    """``__init__(self, *, field=default, ...)`` for ``cls``, compiled once."""
    parameters, body, namespace = (
        [],
        [],
        {"_set": object.__setattr__, "_MISSING": dataclasses.MISSING},
    )
    for index, field in enumerate(dataclasses.fields(cls)):
        if field.default is not dataclasses.MISSING:
            namespace[f"_default_{index}"] = field.default
            parameters.append(f"{field.name}=_default_{index}")
            body.append(f"_set(self, {field.name!r}, {field.name})")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{index}"] = field.default_factory
            parameters.append(f"{field.name}=_MISSING")
            body.append(
                f"_set(self, {field.name!r}, _factory_{index}() "
                f"if {field.name} is _MISSING else {field.name})"
            )
        else:
            parameters.append(field.name)
            body.append(f"_set(self, {field.name!r}, {field.name})")
    signature = f"self, *, {', '.join(parameters)}" if parameters else "self"
    source = f"def __init__({signature}):\n    " + ("\n    ".join(body) or "pass")
    exec(source, namespace)  # our own field names, as dataclasses itself does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _config_repr(self: Any) -> str:
    def value(name: str) -> str:
        held = getattr(self, name)
        return SECRET if held is not None and name in self.__config_secrets__ else repr(held)

    shown = ", ".join(f"{name}={value(name)}" for name in self.__config_fields__)
    return f"{type(self).__qualname__}({shown})"


def _config_eq(self: Any, other: Any) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__config_values__(self) == self.__config_values__(other)


def _config_hash(self: Any) -> int:
    return hash(self.__config_values__(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _config_getstate(self: Any) -> tuple[Any, ...]:
    return self.__config_values__(self)


def _config_setstate(self: Any, state: tuple[Any, ...]) -> None:
    for name, value in zip(self.__config_fields__, state, strict=True):
        object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True)
class Codec:
    """How one Python value type is written into, and read back from, XML text."""

    to_xml: Callable[[Any], str]
    from_xml: Callable[[str], Any]


def _parse_yes_no(text: str) -> bool:
    if text not in ("yes", "no"):
        raise ValueError(f"expected 'yes' or 'no', found {text!r}")
    return text == "yes"


def _parse_on_off(text: str) -> bool:
    if text not in ("on", "off"):
        raise ValueError(f"expected 'on' or 'off', found {text!r}")
    return text == "on"


TEXT = Codec(str, str)
INTEGER = Codec(str, int)
YES_NO = Codec(lambda value: "yes" if value else "no", _parse_yes_no)
ON_OFF = Codec(lambda value: "on" if value else "off", _parse_on_off)


class _Kind(Enum):
    ATTR = "attribute"
    TEXT = "text"
    CHILD = "child"
    CHILDREN = "children"
    FLAG = "flag"
    TEXT_CHILD = "text child"
    OTHER_NAMESPACES = "elements of other namespaces"


@dataclass(frozen=True, slots=True)
class _Declared:
    kind: _Kind
    xml_name: str | None
    codec: Codec | None
    known_namespaces: tuple[str, ...] = ()
    variant: str | None = None  # a discriminator's own value
    secret: bool = False


def attr(name: str, *, codec: Codec | None = None, secret: bool = False) -> Any:
    """An attribute of this element; ``secret``: a value no person is shown (SECRET)."""
    return dataclasses.field(
        default=None, metadata={_XML: _Declared(_Kind.ATTR, name, codec, secret=secret)}
    )


def discriminator(name: str, value: str) -> Any:
    """The attribute that tells the variants of one element apart (``type='emulator'``):
    always ``value`` in this class, which is how parsing recognises it."""
    return dataclasses.field(
        default=value, metadata={_XML: _Declared(_Kind.ATTR, name, None, variant=value)}
    )


def text(*, codec: Codec | None = None) -> Any:
    """The text content of this element."""
    return dataclasses.field(default=None, metadata={_XML: _Declared(_Kind.TEXT, None, codec)})


def child(tag: str | None = None) -> Any:
    """One optional child element, itself a config class (its TAG unless ``tag`` is given)."""
    return dataclasses.field(default=None, metadata={_XML: _Declared(_Kind.CHILD, tag, None)})


def children(tag: str | None = None) -> Any:
    """Repeated child elements of one config class, as a tuple in document order."""
    return dataclasses.field(default=(), metadata={_XML: _Declared(_Kind.CHILDREN, tag, None)})


def flag(tag: str) -> Any:
    """An empty child element whose presence means True (``<acpi/>``)."""
    return dataclasses.field(default=False, metadata={_XML: _Declared(_Kind.FLAG, tag, None)})


def text_child(tag: str, *, codec: Codec | None = None) -> Any:
    """A child element holding only text (``<name>web-01</name>``)."""
    return dataclasses.field(default=None, metadata={_XML: _Declared(_Kind.TEXT_CHILD, tag, codec)})


def elements_of_other_namespaces(*, known: tuple[str, ...]) -> Any:
    """Child elements in any XML namespace but the ``known`` ones, kept whole as
    canonical XML text (see ``canonical_xml``), in document order: what other
    applications keep in libvirt's ``<metadata>``. Elements of no namespace, and
    elements of a known namespace that no other field covers, stay uncovered."""
    return dataclasses.field(
        default=(), metadata={_XML: _Declared(_Kind.OTHER_NAMESPACES, None, None, known)}
    )


def canonical_xml(element: etree._Element) -> str:
    """One element as comparable text: exclusive C14N (attribute order, quoting, and
    namespace declarations it does not use are not differences), without the
    whitespace-only text that indentation is, since libvirt re-indents what it stores."""
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        if node.text is not None and not node.text.strip() and len(node):
            node.text = None
        if node is not copy and node.tail is not None and not node.tail.strip():
            node.tail = None
    copy.tail = None
    return etree.tostring(copy, method="c14n", exclusive=True, with_comments=True).decode()


@dataclass(frozen=True, slots=True)
class _Binding:
    field_name: str
    kind: _Kind
    xml_name: str
    codec: Codec
    element_class: type | None
    known_namespaces: tuple[str, ...] = ()
    # A tagged union: the classes the element may parse into, by their discriminator.
    variants: tuple[type, ...] = ()


@dataclass(frozen=True, slots=True)
class _Plan:
    attributes: tuple[_Binding, ...]
    content: tuple[_Binding, ...]
    nsmap: dict[str, str] | None
    discriminator: tuple[str, str] | None = None  # (attribute, this class's value)
    secrets: tuple[str, ...] = ()  # the XML names of its secret attributes
    # What emitting reads, worked out once per class: emitting a domain visits some
    # thousand fields, most of them None, and this is its inner loop.
    attribute_values: Callable[[Any], tuple[Any, ...]] = tuple
    attribute_steps: tuple[tuple[str, Callable[[Any], str]], ...] = ()
    content_values: Callable[[Any], tuple[Any, ...]] = tuple
    content_steps: tuple[tuple[_Kind, str, Callable[[Any], str]], ...] = ()


_plans: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _plans.get(cls)
    if plan is None:
        plan = _plans[cls] = _compile_plan(cls)
    return plan


def _compile_plan(cls: type) -> _Plan:
    hints = typing.get_type_hints(cls)
    attributes: list[_Binding] = []
    content: list[_Binding] = []
    discriminator = None
    secrets: list[str] = []
    for field in dataclasses.fields(cls):
        declared: _Declared | None = field.metadata.get(_XML)
        if declared is None:
            raise TypeError(f"{cls.__name__}.{field.name} has no XML mapping")
        if declared.secret:
            secrets.append(declared.xml_name or "")
        if declared.variant is not None:
            discriminator = (declared.xml_name or "", declared.variant)
        value_types = _unwrap(hints[field.name])
        classes = tuple(item for item in value_types if dataclasses.is_dataclass(item))
        element_class = classes[0] if classes else None
        if declared.kind in (_Kind.CHILD, _Kind.CHILDREN):
            if element_class is None:
                raise TypeError(f"{cls.__name__}.{field.name} must hold a config class")
            xml_name = declared.xml_name or element_class.TAG  # type: ignore[attr-defined]
        elif declared.kind is _Kind.OTHER_NAMESPACES:
            xml_name = "*"
        else:
            xml_name = declared.xml_name or ""
        codec = declared.codec or _codec_for(value_types[0])
        binding = _Binding(
            field.name,
            declared.kind,
            xml_name,
            codec,
            element_class,
            declared.known_namespaces,
            classes if len(classes) > 1 else (),
        )
        (attributes if declared.kind is _Kind.ATTR else content).append(binding)
    return _Plan(
        tuple(attributes),
        tuple(content),
        getattr(cls, "NSMAP", None),
        discriminator,
        tuple(secrets),
        _values_of(tuple(binding.field_name for binding in attributes)),
        tuple((binding.xml_name, binding.codec.to_xml) for binding in attributes),
        _values_of(tuple(binding.field_name for binding in content)),
        tuple((binding.kind, binding.xml_name, binding.codec.to_xml) for binding in content),
    )


def _unwrap(hint: Any) -> tuple[Any, ...]:
    """``X | None`` and ``tuple[X, ...]`` → ``(X,)``; a union of variants ``A | B | None``
    → ``(A, B)``."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return tuple(
            item for arg in typing.get_args(hint) if arg is not type(None) for item in _unwrap(arg)
        )
    if origin is tuple:
        return _unwrap(typing.get_args(hint)[0])
    return (hint,)


def _variant_of(binding: _Binding, element: etree._Element) -> type | None:
    """The class of a tagged union that ``element`` is, by its discriminator; None where
    no variant names its value."""
    if not binding.variants:
        return binding.element_class
    for variant in binding.variants:
        name, value = _plan(variant).discriminator  # type: ignore[misc]
        if element.get(name) == value:
            return variant
    return None


def _codec_for(value_type: Any) -> Codec:
    if value_type is bool:
        return YES_NO
    if value_type is int:
        return INTEGER
    return TEXT


def xml_names(cls: type) -> dict[str, str]:
    """Each field's name in XML terms: ``@attr`` for attributes, the tag for child
    elements, ``text()`` for text content. Plans speak libvirt's words with these."""
    plan = _plan(cls)
    names = {binding.field_name: f"@{binding.xml_name}" for binding in plan.attributes}
    for binding in plan.content:
        names[binding.field_name] = "text()" if binding.kind is _Kind.TEXT else binding.xml_name
    return names


def child_classes(cls: type) -> dict[str, type]:
    """The config class of each child element ``cls`` declares, by its tag."""
    return {
        binding.xml_name: binding.element_class
        for binding in _plan(cls).content
        if binding.element_class is not None
    }


def element_fields(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` that hold config objects (``child`` or ``children``), in order."""
    return tuple(
        binding.field_name
        for binding in _plan(cls).content
        if binding.kind in (_Kind.CHILD, _Kind.CHILDREN)
    )


def xml_value(cls: type, field_name: str, value: Any) -> str | None:
    """A field's value as it reads in the XML (True → "yes" or "on"; a flag → "present"),
    to be shown to a person: a secret shows as SECRET."""
    plan = _plan(cls)
    for binding in (*plan.attributes, *plan.content):
        if binding.field_name != field_name:
            continue
        if binding.kind is _Kind.FLAG:
            return "present" if value else None
        if binding.kind in (_Kind.CHILD, _Kind.CHILDREN):
            break
        if value is not None and binding.kind is _Kind.ATTR and binding.xml_name in plan.secrets:
            return SECRET
        return None if value is None else binding.codec.to_xml(value)
    raise KeyError(f"{cls.__name__}.{field_name} is not a scalar field")


@dataclass(frozen=True, slots=True)
class DeclaredField:
    """One field of a config class and an XPath where it appears in the whole tree."""

    cls: type
    field_name: str
    xpath: str  # from the root, e.g. /domain/devices/disk/@type; Clark names for namespaces


def declared_fields(cls: type, xpath: str | None = None) -> Iterator[DeclaredField]:
    """Every attribute, element and text the mapping of ``cls`` and the classes below it
    declares, with where it appears, so that tests can ask whether each is exercised. A
    class shared by several elements (a chardev's source) appears once per place; a
    class met again below itself (a backing chain) stops there."""
    yield from _declared(cls, xpath or f"/{cls.TAG}", (cls,))  # type: ignore[attr-defined]


def _declared(cls: type, here: str, above: tuple[type, ...]) -> Iterator[DeclaredField]:
    plan = _plan(cls)
    for binding in plan.attributes:
        yield DeclaredField(cls, binding.field_name, f"{here}/@{binding.xml_name}")
    for binding in plan.content:
        if binding.kind is _Kind.TEXT:
            yield DeclaredField(cls, binding.field_name, f"{here}/text()")
            continue
        below = f"{here}/{binding.xml_name}"
        yield DeclaredField(cls, binding.field_name, below)
        for element_class in binding.variants or (binding.element_class,):
            if element_class is not None and element_class not in above:
                yield from _declared(element_class, below, (*above, element_class))


# --- emit -----------------------------------------------------------------------------------


def to_element(obj: Any, tag: str | None = None, *, masked: bool = False) -> etree._Element:
    """The element tree of a config object; ``masked``: to be shown to a person, with
    every secret as SECRET."""
    plan = _plan(type(obj))
    element = etree.Element(tag or obj.TAG, _attributes(obj, plan, masked), nsmap=plan.nsmap)
    _fill(element, obj, plan, masked)
    return element


def _attributes(obj: Any, plan: _Plan, masked: bool) -> dict[str, str]:
    attributes = {}
    for value, (xml_name, to_xml) in zip(
        plan.attribute_values(obj), plan.attribute_steps, strict=True
    ):
        if value is not None:
            attributes[xml_name] = to_xml(value)
    if masked and plan.secrets:
        for name in plan.secrets:
            if name in attributes:
                attributes[name] = SECRET
    return attributes


def _sub_element(parent: etree._Element, obj: Any, tag: str, masked: bool) -> None:
    plan = _plans.get(type(obj)) or _plan(type(obj))
    element = etree.SubElement(parent, tag, _attributes(obj, plan, masked), nsmap=plan.nsmap)
    _fill(element, obj, plan, masked)


_CHILD, _CHILDREN, _TEXT_CHILD, _FLAG, _OTHER_NAMESPACES = (
    _Kind.CHILD,
    _Kind.CHILDREN,
    _Kind.TEXT_CHILD,
    _Kind.FLAG,
    _Kind.OTHER_NAMESPACES,
)


def _fill(element: etree._Element, obj: Any, plan: _Plan, masked: bool) -> None:
    for value, (kind, xml_name, to_xml) in zip(
        plan.content_values(obj), plan.content_steps, strict=True
    ):
        if value is None:
            continue  # nothing to write, whatever the kind
        if kind is _CHILD:
            _sub_element(element, value, xml_name, masked)
        elif kind is _CHILDREN:
            for item in value:
                _sub_element(element, item, xml_name, masked)
        elif kind is _TEXT_CHILD:
            etree.SubElement(element, xml_name).text = to_xml(value)
        elif kind is _FLAG:
            if value:
                etree.SubElement(element, xml_name)
        elif kind is _OTHER_NAMESPACES:
            for item in value:
                element.append(etree.fromstring(item))
        else:  # _Kind.TEXT
            element.text = to_xml(value)


# --- parse ----------------------------------------------------------------------------------


class XmlMappingError(ValueError):
    """XML the mapping covers but whose value cannot be read (a ``vcpu`` that is no number)."""

    def __init__(self, xpath: str, message: str) -> None:
        super().__init__(f"{xpath}: {message}")
        self.xpath = xpath


def from_element(cls: type[T], element: etree._Element, uncovered: list[str] | None = None) -> T:
    """Parse ``element`` into ``cls``.

    XPaths of attributes and elements the mapping does not cover are appended to
    ``uncovered`` (when given): what an import would silently lose otherwise.
    """
    return _parse(
        cls, element, f"/{_display_tag(element)}", uncovered if uncovered is not None else []
    )


def _parse(cls: type[T], element: etree._Element, xpath: str, uncovered: list[str]) -> T:
    plan = _plan(cls)
    values: dict[str, Any] = {}
    remaining_attributes = dict(element.attrib)
    for binding in plan.attributes:
        raw = remaining_attributes.pop(binding.xml_name, None)
        if raw is not None:
            values[binding.field_name] = _decode(binding, raw, f"{xpath}/@{binding.xml_name}")
    uncovered.extend(f"{xpath}/@{name}" for name in remaining_attributes)

    by_tag: dict[str, list[etree._Element]] = {}
    for item in element:
        if isinstance(item.tag, str):  # skip comments and processing instructions
            by_tag.setdefault(item.tag, []).append(item)

    for binding in plan.content:
        kind = binding.kind
        if kind is _Kind.OTHER_NAMESPACES:
            continue  # what the other bindings leave, below
        if kind is _Kind.TEXT:
            # Whitespace alone before child elements is the indentation of pretty-printed
            # XML, not a value; in an element without children it is the text (a label).
            text = element.text
            if text is not None and (text.strip() or not _has_child_elements(element)):
                values[binding.field_name] = _decode(binding, text, f"{xpath}/text()")
            continue
        found = by_tag.pop(binding.xml_name, [])
        if not found:
            continue
        child_path = f"{xpath}/{_display_tag(found[0])}"
        if kind is _Kind.CHILDREN:
            values[binding.field_name] = tuple(
                parsed
                for index, item in enumerate(found)
                if (
                    parsed := _parse_variant(
                        binding, item, _indexed(child_path, index, found), uncovered
                    )
                )
                is not None
            )
            continue
        first = found[0]
        uncovered.extend(_indexed(child_path, index, found) for index in range(1, len(found)))
        if kind is _Kind.CHILD:
            values[binding.field_name] = _parse_variant(binding, first, child_path, uncovered)
        elif kind is _Kind.FLAG:
            values[binding.field_name] = True
            _note_unexpected_content(first, child_path, uncovered)
        else:  # _Kind.TEXT_CHILD
            _note_unexpected_content(first, child_path, uncovered)
            values[binding.field_name] = _decode(binding, first.text or "", f"{child_path}/text()")

    for binding in plan.content:
        if binding.kind is _Kind.OTHER_NAMESPACES:
            values[binding.field_name] = _take_other_namespaces(
                element, by_tag, binding.known_namespaces
            )
    for found in by_tag.values():
        child_path = f"{xpath}/{_display_tag(found[0])}"
        uncovered.extend(_indexed(child_path, index, found) for index in range(len(found)))
    return cls(**values)


def _has_child_elements(element: etree._Element) -> bool:
    return any(isinstance(item.tag, str) for item in element)


def _parse_variant(
    binding: _Binding, element: etree._Element, xpath: str, uncovered: list[str]
) -> Any:
    cls = _variant_of(binding, element)
    if cls is None:
        name = _plan(binding.variants[0]).discriminator[0]  # type: ignore[index]
        uncovered.append(f"{xpath}/@{name}")
        return None
    return _parse(cls, element, xpath, uncovered)


def _take_other_namespaces(
    element: etree._Element, by_tag: dict[str, list[etree._Element]], known: tuple[str, ...]
) -> tuple[str, ...]:
    def other(tag: str) -> bool:
        namespace = etree.QName(tag).namespace
        return namespace is not None and namespace not in known

    taken = [tag for tag in by_tag if other(tag)]
    for tag in taken:
        del by_tag[tag]
    return tuple(
        canonical_xml(item) for item in element if isinstance(item.tag, str) and other(item.tag)
    )


def _decode(binding: _Binding, raw: str, xpath: str) -> Any:
    try:
        return binding.codec.from_xml(raw)
    except ValueError as error:
        raise XmlMappingError(xpath, str(error)) from None


def _note_unexpected_content(element: etree._Element, xpath: str, uncovered: list[str]) -> None:
    uncovered.extend(f"{xpath}/@{name}" for name in element.attrib)
    uncovered.extend(
        f"{xpath}/{_display_tag(item)}" for item in element if isinstance(item.tag, str)
    )


def _indexed(xpath: str, index: int, found: list[etree._Element]) -> str:
    return f"{xpath}[{index + 1}]" if len(found) > 1 else xpath


def _display_tag(element: etree._Element) -> str:
    qname = etree.QName(element)
    return f"{element.prefix}:{qname.localname}" if element.prefix else qname.localname
