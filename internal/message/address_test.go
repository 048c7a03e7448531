package message

import (
	"strings"
	"testing"
)

// addrString renders a parsed list compactly for comparison:
// name|adl|mailbox|host, groups as "G(name)" and "G;".
func addrString(as []Address) string {
	var parts []string
	for _, a := range as {
		switch {
		case a.GroupStart:
			parts = append(parts, "G("+a.Mailbox+")")
		case a.GroupEnd:
			parts = append(parts, "G;")
		default:
			parts = append(parts, a.Name+"|"+a.ADL+"|"+a.Mailbox+"|"+a.Host)
		}
	}
	return strings.Join(parts, ", ")
}

func TestParseAddressList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"John Doe <jdoe@machine.example>", "John Doe||jdoe|machine.example"},
		{"Mary Smith <mary@example.net>, jdoe@example.org, Who? <one@y.test>",
			"Mary Smith||mary|example.net, ||jdoe|example.org, Who?||one|y.test"},
		// RFC 5322 A.1.2
		{`"Joe Q. Public" <john.q.public@example.com>`, "Joe Q. Public||john.q.public|example.com"},
		{`<boss@nil.test>, "Giant; \"Big\" Box" <sysservices@example.net>`,
			`||boss|nil.test, Giant; "Big" Box||sysservices|example.net`},
		// RFC 5322 A.1.3 groups
		{"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
			"G(A Group), Ed Jones||c|a.test, ||joe|where.test, John||jdoe|one.test, G;"},
		{"Undisclosed recipients:;", "G(Undisclosed recipients), G;"},
		{"group: a@b.example", "G(group), ||a|b.example, G;"},
		// RFC 5322 A.5 comments
		{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "Pete||pete|silly.test"},
		{"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
			"G(A Group), Chris Jones||c|public.example, ||joe|example.org, John||jdoe|one.test, G;"},
		// Comment as the name when there is no display name.
		{"mary@example.net (Mary Smith)", "Mary Smith||mary|example.net"},
		// RFC 5322 A.6.1 obsolete route and empty list elements.
		{"Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
			"Mary Smith|@node.test|mary|example.net, ||jdoe|test.example"},
		{"<@a.test,@b.test:x@c.test>", "|@a.test,@b.test|x|c.test"},
		// Quoted local part stays quoted when it must.
		{`"john doe"@example.com`, `||"john doe"|example.com`},
		{`"john"."doe"@example.com`, `||john.doe|example.com`},
		// No domain, garbage, empty.
		{"localrecipient", "||localrecipient|"},
		{"", ""},
		{",,,", ""},
		{"<>", "|||"},
		{"MAILER DAEMON <>", "MAILER DAEMON|||"},
		{"a@b.example>, <c@d.example", "||a|b.example, ||c|d.example"},
		// Encoded-words stay raw; UTF-8 (RFC 6532) is kept.
		{"=?utf-8?q?J=C3=B6rg?= <j@x.example>", "=?utf-8?q?J=C3=B6rg?=||j|x.example"},
		{"Jöhn Doe <jdöe@mächine.example>", "Jöhn Doe||jdöe|mächine.example"},
		{"[1.2.3.4]@x, y@[IPv6:::1]", "||[1.2.3.4]|x, ||y|[IPv6:::1]"},
	}
	for _, tt := range tests {
		if got := addrString(ParseAddressList(tt.in)); got != tt.want {
			t.Errorf("ParseAddressList(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatAddressList(t *testing.T) {
	in := []Address{
		{Name: "Joe Q. Public", Mailbox: "john.q.public", Host: "example.com"},
		{GroupStart: true, Mailbox: "Friends"},
		{Name: "Jörg Müller", Mailbox: "j", Host: "x.example"},
		{Mailbox: "plain", Host: "x.example"},
		{GroupEnd: true},
		{Name: "Route", ADL: "@a.test", Mailbox: "r", Host: "b.test"},
	}
	got := FormatAddressList(in)
	if !isPrintableASCII(got) {
		t.Fatalf("not ASCII: %q", got)
	}
	back := ParseAddressList(got)
	for i := range back {
		back[i].Name = DecodeHeader(back[i].Name)
	}
	if addrString(back) != addrString(in) {
		t.Errorf("round trip\n got %q\nwant %q\nfrom %q", addrString(back), addrString(in), got)
	}
	if s := DisplayList(in); s != "Joe Q. Public <john.q.public@example.com>, Friends: Jörg Müller <j@x.example>, plain@x.example;, Route <r@b.test>" {
		t.Errorf("DisplayList = %q", s)
	}
}

func TestAddressMethods(t *testing.T) {
	a := Address{Name: "=?utf-8?q?J=C3=B6rg?=", Mailbox: "j", Host: "x.example"}
	if a.Addr() != "j@x.example" || a.DisplayName() != "Jörg" || a.String() != "Jörg <j@x.example>" {
		t.Errorf("Addr/DisplayName/String = %q %q %q", a.Addr(), a.DisplayName(), a.String())
	}
	if (Address{GroupStart: true}).Addr() != "" || (Address{Mailbox: "x"}).Addr() != "x" {
		t.Error("Addr of group marker or host-less address")
	}
}

func TestFormatAddressListInjection(t *testing.T) {
	got := FormatAddressList([]Address{{Name: "Evil\r\nBcc: x@y", Mailbox: "a", Host: "b.example"}})
	if strings.ContainsAny(got, "\r\n") {
		t.Errorf("line break survived: %q", got)
	}
}
