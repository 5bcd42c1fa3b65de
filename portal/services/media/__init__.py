"""Media rules: who may watch (access), captions, edits and deletion of assets."""
