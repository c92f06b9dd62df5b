"""Import a plain-text glossary (the user's notes) as draft corpus entries: segment.py finds term blocks,
drafts.py turns them into v2 entries, write.py plans, writes and reports, translate.py drafts the other language."""
from glossarian.importer.drafts import Draft, definition_markdown, parse_term, render
from glossarian.importer.segment import Block, is_code_line, read_glossary, split_blocks, term_line
from glossarian.importer.translate import Translator
from glossarian.importer.write import ImportReport, Skipped, Written, import_file

__all__ = ["Block", "Draft", "ImportReport", "Skipped", "Translator", "Written", "definition_markdown", "import_file",
           "is_code_line", "parse_term", "read_glossary", "render", "split_blocks", "term_line"]
