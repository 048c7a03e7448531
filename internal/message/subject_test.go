package message

import "testing"

func TestBaseSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello", "Hello"},
		{"Re: Hello", "Hello"},
		{"RE: re: Fwd: FW: Hello", "Hello"},
		{"Re[2]: Hello", "Hello"},
		{"Re [2]: Hello", "Hello"},
		{"[list] Re: Hello", "Hello"},
		{"[list] Hello", "Hello"},
		{"[list]", "[list]"},
		{"Hello (fwd)", "Hello"},
		{"Hello (FWD) (fwd)  ", "Hello"},
		{"[Fwd: Re: Hello]", "Hello"},
		{"[fwd: [Fwd: Hello] (fwd)]", "Hello"},
		{"  Re:   multiple\t spaces  ", "multiple spaces"},
		{"Reply about something", "Reply about something"},
		{"Re:", ""},
		{"", ""},
		{"Réponse: été", "Réponse: été"},
		{"[a][b] Re: [c] Fwd: x", "x"},
	}
	for _, tt := range tests {
		if got := BaseSubject(tt.in); got != tt.want {
			t.Errorf("BaseSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
