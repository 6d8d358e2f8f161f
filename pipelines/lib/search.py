"""Full-text search over the published file's BM25 index (dbt models in dbt_project/models/marts/search/).

A query is split the way the texts were: by the file's own macro search_tokens (the dbt macro of the
same name, stored at publish), so the CLI and the index can never disagree on what a term is. Syntax:
words are all required (AND) and ranked by BM25; "double quotes" make a phrase (consecutive positions);
a word joined by punctuation (an e-mail address, a domain, 87(2)(b)) is a phrase of its parts, because
that is how the tokenizer indexed it.

Scoring: BM25 with k1, b and the average length from search_settings, computed from the postings'
term_frequency and unit_length. Terms are inlined in an IN list: the postings are sorted by term, so
DuckDB's zone maps read only the row groups that hold them. Phrases are checked on the best-scoring
candidates first, widening the window until enough hits are found, so a phrase of common words costs
about as much as the bag of words unless the phrase is rare.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import duckdb

# Tables and the order publish writes them in (sorted postings let zone maps prune by term).
TABLE_ORDER = {"search_postings": "term, unit_id", "search_terms": "term", "search_documents": "unit_id"}

_QUOTED = re.compile(r'"([^"]*)"|(\S+)')
SNIPPET_BEFORE, SNIPPET_AFTER = 8, 22  # terms shown before / after the first hit
FIRST_WINDOW = 200  # candidates checked for phrases before widening


class SearchError(ValueError):
    """The query or the file cannot be searched; the message says what to do."""


@dataclass
class Query:
    text: str
    groups: list[list[str]]  # each group: a word (one term) or a phrase (several terms in a row)
    missing: list[str] = field(default_factory=list)  # terms no text holds

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(t for g in self.groups for t in g))

    @property
    def phrases(self) -> list[list[str]]:
        return [g for g in self.groups if len(g) > 1]


@dataclass
class Filters:
    release: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def sql(self) -> tuple[str, list]:
        where, params = [], []
        if self.release:
            where.append("release_id = ?")
            params.append(self.release)
        if self.date_from:
            where.append("sent_at >= ?::date")
            params.append(self.date_from)
        if self.date_to:  # inclusive: the whole of the last day
            where.append("sent_at < ?::date + 1")
            params.append(self.date_to)
        return " and ".join(where), params


@dataclass
class Hit:
    rank: int
    score: float
    unit_id: int
    kind: str
    release_id: str
    document_id: str
    message_id: str | None
    page: int | None
    sent_at: dt.datetime | None
    title: str | None
    citation: str
    snippet: str = ""
    matched_at: int | None = field(default=None, repr=False)


def has_index(con: duckdb.DuckDBPyConnection) -> bool:
    names = {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}
    return {"search_postings", "search_terms", "search_documents", "search_settings"} <= names


def parse(con: duckdb.DuckDBPyConnection, text: str) -> Query:
    """Split `text` into words and phrases with the file's tokenizer (macro search_tokens)."""
    chunks = [m.group(1) if m.group(1) is not None else m.group(2) for m in _QUOTED.finditer(text.replace("“", '"').replace("”", '"'))]
    if not chunks:
        return Query(text, [])
    rows = con.execute("select list_transform(?::varchar[], lambda c: search_tokens(c))", [chunks]).fetchone()[0]
    return Query(text, [g for g in rows if g])


def _in_list(terms: list[str]) -> str:
    return ", ".join("'" + t.replace("'", "''") + "'" for t in terms)


def _score_sql(query: Query, filters: Filters) -> tuple[str, list]:
    """Units holding every term, with their BM25 score (highest first)."""
    where, params = filters.sql()
    unit_filter = f" and p.unit_id in (select unit_id from search_documents where {where})" if where else ""
    sql = f"""
        select p.unit_id,
               sum(t.idf * p.term_frequency * (s.k1 + 1)
                   / (p.term_frequency + s.k1 * (1 - s.b + s.b * p.unit_length / s.average_length))) as score
        from search_postings p
        join search_terms t on t.term = p.term
        cross join search_settings s
        where p.term in ({_in_list(query.terms)}){unit_filter}
        group by p.unit_id
        having count(*) = {len(query.terms)}
        order by score desc, p.unit_id"""
    return sql, params


def _phrase_starts(phrase_cols: list[str]) -> str:
    rest = " and ".join(f"list_contains({c}, x + {i})" for i, c in enumerate(phrase_cols) if i)
    return f"list_filter({phrase_cols[0]}, lambda x: {rest})"


def _check_phrases(con, query: Query, units: list[int]) -> dict[int, int]:
    """unit_id -> first position where all phrases hold (the earliest start of the first phrase)."""
    if not units:
        return {}
    terms = query.terms
    col = {t: f"p{i}" for i, t in enumerate(terms)}
    pivots = ", ".join(f"any_value(positions) filter (where term = '{t.replace(chr(39), chr(39) * 2)}') as {col[t]}"
                       for t in terms)
    conds, starts = [], []
    for phrase in query.phrases:
        s = _phrase_starts([col[t] for t in phrase])
        conds.append(f"len({s}) > 0")
        starts.append(f"list_min({s})")
    sql = f"""
        with pos as (
            select unit_id, {pivots}
            from search_postings
            where term in ({_in_list(terms)}) and unit_id in (select unnest(?::integer[]))
            group by unit_id
        )
        select unit_id, {starts[0]} as first_at from pos where {' and '.join(conds)}"""
    return dict(con.execute(sql, [units]).fetchall())


def search(con: duckdb.DuckDBPyConnection, text: str, filters: Filters | None = None, limit: int = 10) -> tuple[Query, list[Hit]]:
    """Ranked hits for `text`. Raises SearchError for a query without any term."""
    filters = filters or Filters()
    query = parse(con, text)
    if not query.terms:
        raise SearchError(f"the query {text!r} has no searchable terms (letters or digits)")
    known = dict(con.execute(f"select term, document_frequency from search_terms where term in ({_in_list(query.terms)})").fetchall())
    query.missing = [t for t in query.terms if t not in known]
    if query.missing:
        return query, []
    sql, params = _score_sql(query, filters)
    if not query.phrases:
        ranked = con.execute(sql + " limit ?", params + [limit]).fetchall()
        first_at = {}
    else:
        # best-scoring candidates first; widen until `limit` of them hold the phrases or none are left
        ranked, first_at, window, offset = [], {}, max(FIRST_WINDOW, limit * 20), 0
        while len(ranked) < limit:
            batch = con.execute(sql + " limit ? offset ?", params + [window, offset]).fetchall()
            found = _check_phrases(con, query, [u for u, _ in batch])
            ranked += [(u, s) for u, s in batch if u in found][: limit - len(ranked)]
            first_at.update(found)
            if len(batch) < window:
                break
            offset += window
            window *= 8
    hits = _describe(con, ranked, query, first_at)
    return query, hits


def _describe(con, ranked: list[tuple[int, float]], query: Query, first_at: dict[int, int]) -> list[Hit]:
    """Hits with their unit's details and a snippet around the first match."""
    if not ranked:
        return []
    rows = con.execute(f"""
        with ranked as (
            select unnest(?::integer[]) as unit_id, unnest(?::double[]) as score, unnest(generate_series(1, ?)) as rank,
                   unnest(?::integer[]) as phrase_at
        ),
        first_term as (
            select unit_id, min(list_min(positions)) as first_at
            from search_postings
            where term in ({_in_list(query.terms)}) and unit_id in (select unit_id from ranked)
            group by unit_id
        ),
        texts as (
            select d.*, ranked.rank, ranked.score, coalesce(ranked.phrase_at, first_term.first_at) as first_at,
                   -- the indexed text (search_units): a message's subject and body, a page's OCR text
                   coalesce(case d.kind when 'message' then concat_ws(chr(10), m.subject, m.body_text)
                                        when 'ocr_page' then o.text else d.text end, '') as full_text
            from ranked
            join search_documents d using (unit_id)
            left join first_term using (unit_id)
            left join messages m on d.kind = 'message' and m.message_id = d.source_id
            left join ocr_pages o on d.kind = 'ocr_page' and o.page_id = d.source_id
        ),
        pieces as (
            -- the text as (separator + term) pieces, so a slice of them is the original text around a hit
            select texts.*, regexp_extract_all(full_text, '(?s).*?' || (select token_pattern from search_settings)) as parts
            from texts
        )
        select rank, score, unit_id, kind, release_id, document_id, message_id, page, sent_at, title, citation, first_at,
               case when first_at > {SNIPPET_BEFORE + 1} then '…' else '' end
               || trim(regexp_replace(array_to_string(parts[greatest(1, first_at - {SNIPPET_BEFORE}):first_at + {SNIPPET_AFTER}], ''), '\\s+', ' ', 'g'))
               || case when len(parts) > first_at + {SNIPPET_AFTER} then ' …' else '' end as snippet
        from pieces
        order by rank""",
        [[u for u, _ in ranked], [s for _, s in ranked], len(ranked), [first_at.get(u) for u, _ in ranked]]).fetchall()
    return [Hit(rank=r[0], score=r[1], unit_id=r[2], kind=r[3], release_id=r[4], document_id=r[5], message_id=r[6],
                page=r[7], sent_at=r[8], title=r[9], citation=r[10], matched_at=r[11], snippet=r[12] or "") for r in rows]


def _macro_sql() -> str:
    """search_bm25(q): every term of q required, ranked by BM25, for plain SQL in any client."""
    return """
        with q as (select list_distinct(search_tokens(q)) as terms),
        scored as (
            select p.unit_id,
                   sum(t.idf * p.term_frequency * (s.k1 + 1)
                       / (p.term_frequency + s.k1 * (1 - s.b + s.b * p.unit_length / s.average_length))) as score
            from search_postings p
            join search_terms t on t.term = p.term
            cross join search_settings s
            where list_contains((select terms from q), p.term)
            group by p.unit_id
            having count(*) = (select len(terms) from q)
        )
        select d.unit_id, scored.score, d.kind, d.release_id, d.document_id, d.message_id, d.page, d.sent_at,
               d.title, d.citation
        from scored join search_documents d using (unit_id)
        order by scored.score desc, d.unit_id"""


def install_macros(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Store search_tokens(text) and search_bm25(q) in `catalog` (an attached file holding the search
    tables). Names inside are unqualified, so they resolve in whichever file opens them as its own."""
    tokenizer = con.execute(f'select tokenizer_sql from "{catalog}".main.search_settings').fetchone()[0]
    previous = con.execute("select current_database()").fetchone()[0]
    con.execute(f'use "{catalog}"')
    try:
        con.execute(f"create or replace macro search_tokens(text) as {tokenizer}")
        con.execute(f"create or replace macro search_bm25(q) as table {_macro_sql()}")
    finally:
        con.execute(f'use "{previous}"')
