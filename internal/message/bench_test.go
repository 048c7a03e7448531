package message

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// bench4K is a typical 4 KiB message: a multipart/alternative with a
// quoted-printable text part and an HTML part.
var bench4K = func() []byte {
	var b bytes.Buffer
	b.WriteString("Return-Path: <alice@example.org>\r\n" +
		"Received: from mail.example.org (mail.example.org [192.0.2.25])\r\n\tby mx.example.net (Posthorn) with ESMTPS id 01HQZX; Sat, 09 Mar 2024 17:04:05 +0100\r\n" +
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1; h=from:to:subject:date;\r\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=" + strings.Repeat("A", 300) + "\r\n" +
		"From: =?utf-8?q?Al=C3=AFce?= <alice@example.org>\r\n" +
		"To: Bob <bob@example.net>, carol@example.net\r\n" +
		"Subject: Re: [team] Quarterly numbers\r\n" +
		"Date: Sat, 09 Mar 2024 17:04:03 +0100\r\n" +
		"Message-ID: <msg-2@example.org>\r\n" +
		"In-Reply-To: <msg-1@example.net>\r\n" +
		"References: <msg-0@example.net> <msg-1@example.net>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for b.Len() < 2600 {
		b.WriteString("Hi Bob, the numbers look fine to me; caf=C3=A9 at ten? Cheers, Al=C3=AFce.\r\n")
	}
	b.WriteString("\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>")
	for b.Len() < 4000 {
		b.WriteString("<p>Hi Bob, the numbers look <b>fine</b> to me.</p>\r\n")
	}
	b.WriteString("</body></html>\r\n--b1--\r\n")
	return b.Bytes()
}()

func BenchmarkAnalyze(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(bench4K)))
	for b.Loop() {
		if _, err := Analyze(bytes.NewReader(bench4K)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseStructure measures the MIME tree and envelope alone,
// without text extraction.
func BenchmarkParseStructure(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(bench4K)))
	for b.Loop() {
		_, mf, _, err := parseTree(bytes.NewReader(bench4K), nil)
		if err != nil {
			b.Fatal(err)
		}
		mf.envelope()
	}
}

func BenchmarkAnalyzeCorpus(b *testing.B) {
	files := loadCorpus(b)
	n := 0
	for _, f := range files {
		n += len(f.data)
	}
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, f := range files {
			Analyze(bytes.NewReader(f.data))
		}
	}
}

func BenchmarkUnmarshalMeta(b *testing.B) {
	data := mustAnalyze(b, string(bench4K)).Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalMeta(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToSevenBit(b *testing.B) {
	msg := bytes.ReplaceAll(bench4K, []byte("=C3=A9"), []byte("\xc3\xa9"))
	msg = bytes.ReplaceAll(msg, []byte("quoted-printable"), []byte("8bit"))
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := ToSevenBit(io.Discard, bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}
