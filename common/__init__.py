"""Cross-cutting helpers of every entry point: exit codes and one-line errors, atomic file writes, run locks."""
