package smtpd

// Test helpers shared with the external test package smtpd_test (which
// boots the whole server and so cannot live in package smtpd: servertest
// imports server, which imports smtpd).
var RunPython = runPython

// PythonResult is what RunPython reports.
type PythonResult = pythonResult
