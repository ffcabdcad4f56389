"""Working with what models write: code blocks in their replies (model clients come later)."""

from airlock.llm.blocks import CodeBlock, extract_code_blocks

__all__ = ["CodeBlock", "extract_code_blocks"]
