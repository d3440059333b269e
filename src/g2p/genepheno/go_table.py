"""A user's ``--go`` table for ``predict``: what of it is used, and a word about everything that is not.

``predict`` turns the table into GO input terms with the curation's own rules (:mod:`g2p.data.go_features`:
alt ids mapped to their primary, obsolete ids followed when they have a single ``replaced_by``,
annotations propagated). :func:`review` checks the same table against the FASTA records and the GO
ontology first and returns

* an error (:class:`g2p.errors.InputError`) when the table cannot be meant for these records: it
  lists no annotation, none of its accessions is a FASTA record's (a table keyed by gene symbol), or
  none of its GO ids is a live GO term;
* otherwise notes, one line each, for what is used differently from what the user wrote: accessions
  that match no record, records without a line, GO ids that are not in GO or are obsolete without a
  single replacement (dropped), alt or obsolete ids that were replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from g2p.data.ontology import Ontology
from g2p.data.readers import read_go_annotation_tsv
from g2p.errors import InputError

#: Examples named in a note (the count says how many there are).
EXAMPLES = 3


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:EXAMPLES])
    return shown + (", …" if len(items) > EXAMPLES else "")


@dataclass
class GoTableReview:
    """What :func:`review` found: notes to print (the table is usable)."""

    notes: list[str] = field(default_factory=list)
    matched_accessions: int = 0


def review(path: Path, accessions: Sequence[str], go: Ontology) -> GoTableReview:
    """Check the ``accession<TAB>go_ids`` table at ``path`` against the FASTA ``accessions`` (see the
    module docstring); raise :class:`InputError` when nothing of it could be used."""
    path = Path(path)
    table = read_go_annotation_tsv(path)  # malformed ids and repeated accessions are refused here
    listed = list(dict.fromkeys(table["accession"]))
    records = list(dict.fromkeys(a for a in accessions if a))
    if not listed:
        raise InputError("lists no GO annotation, so --go would change nothing", path=path,
                         hint="add lines 'accession<TAB>GO:…;GO:…', or leave --go out")
    known = set(records)
    matched = [a for a in listed if a in known]
    if not matched:
        raise InputError(
            f"none of its {len(listed)} accessions ({_some(listed)}) is the accession of a FASTA record "
            f"({_some(records)}), so every annotation would be ignored", path=path, field="accession",
            hint="key the table by each record's UniProt accession (the 'P12345' of '>sp|P12345|NAME_MOUSE'), "
                 "not by gene symbol or entry name")
    review = GoTableReview(matched_accessions=len(matched))
    shown = path.name
    unmatched = [a for a in listed if a not in known]
    if unmatched:
        review.notes.append(f"{shown}: {len(unmatched)} of {len(listed)} accessions match no FASTA record and are "
                            f"not used: {_some(unmatched)}")
    annotated = set(matched)
    bare = [a for a in records if a not in annotated]
    if bare:
        review.notes.append(f"{shown}: {len(bare)} of {len(records)} FASTA records have no line in it and are scored "
                            f"without GO annotations: {_some(bare)}")
    used = table[table["accession"].isin(annotated)]
    ids = list(dict.fromkeys(used["go_id"]))
    dropped, replaced, live = [], [], []
    for go_id in ids:
        primary = go.primary(go_id)
        if primary is None:
            if go.is_obsolete(go_id):
                dropped.append(f"{go_id} (obsolete, {'no' if not go.replaced_by.get(go_id) else 'no single'} replacement)")
            else:
                dropped.append(f"{go_id} (not in GO)")
        else:
            live.append(primary)
            if primary != go_id:
                how = "alt id" if go_id in go.alt_ids else "obsolete, replaced_by"
                replaced.append(f"{go_id} → {primary} ({how})")
    if not live:
        raise InputError(
            f"none of its {len(ids)} GO ids is a live GO term ({_some(dropped)}), so --go would change nothing",
            path=path, field="go_ids", hint="check the ids against the GO release the model was trained with")
    if dropped:
        review.notes.append(f"{shown}: {len(dropped)} of {len(ids)} GO ids are not used: {_some(dropped)}")
    if replaced:
        were = "GO id was replaced by its live term" if len(replaced) == 1 else "GO ids were replaced by their live terms"
        review.notes.append(f"{shown}: {len(replaced)} {were}: {_some(replaced)}")
    return review
