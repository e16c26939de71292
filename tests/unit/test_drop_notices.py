"""A DROP ... CASCADE notice from a catalog server names only the user's objects."""

from gridpg.commands.ddl import without_internal_objects
from gridpg.pgwire import codec


def _notice(message: str, detail: str | None = None) -> bytes:
    fields = {"S": "NOTICE", "V": "NOTICE", "C": "00000", "M": message}
    if detail is not None:
        fields["D"] = detail
    return codec.build_error_fields(b"N", fields)


def _fields(notice: bytes | None) -> dict[str, str] | None:
    return None if notice is None else codec.parse_error_fields(notice[5:])


def test_shadow_columns_are_left_out_and_the_objects_counted_again() -> None:
    notice = _notice("drop cascades to 3 other objects",
                     "drop cascades to type s.st\n"
                     "drop cascades to column status of foreign table gridpg_lb_16554.o\n"
                     "drop cascades to table s.o")
    assert _fields(without_internal_objects(notice)) == {
        "S": "NOTICE", "V": "NOTICE", "C": "00000", "M": "drop cascades to 2 other objects",
        "D": "drop cascades to type s.st\ndrop cascades to table s.o"}


def test_one_object_left_is_named_in_the_message() -> None:
    notice = _notice("drop cascades to 2 other objects",
                     "drop cascades to column total of foreign table gridpg_lb_1.o\n"
                     "drop cascades to view s.v")
    assert _fields(without_internal_objects(notice))["M"] == "drop cascades to view s.v"
    assert "D" not in _fields(without_internal_objects(notice))


def test_only_internal_objects_give_no_notice_and_others_pass_unchanged() -> None:
    assert without_internal_objects(_notice("drop cascades to column a of foreign table gridpg_lb_7.t")) is None
    user = _notice("drop cascades to 2 other objects", "drop cascades to table s.a\ndrop cascades to table s.b")
    assert without_internal_objects(user) == user
    other = _notice("table \"x\" does not exist, skipping")
    assert without_internal_objects(other) == other
