//! STUB: maps a path inside the document (for example `phases[2].steps[0].agent`) to the
//! line and column where that node starts, so semantic errors can point into the file.
