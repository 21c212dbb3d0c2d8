/*
 * tls: client TLS contexts for the probes and the certificate-expiry
 * reading that every TLS probe reports (days left before notAfter).
 * Contexts are built once per environment; a probe with its own CA file
 * gets its own context, freed with the probe.
 */
#include "probes/pingpong.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <time.h>

SSL_CTX *mm_tls_client_ctx(bool verify, const char *ca_file, struct mm_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		mm_err_set(err, "tls: cannot create a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		int ok = ca_file && ca_file[0] ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
					       : SSL_CTX_set_default_verify_paths(ctx);
		if (ok != 1) {
			char e[160];
			ERR_error_string_n(ERR_get_error(), e, sizeof e);
			SSL_CTX_free(ctx);
			mm_err_set(err, "tls: cannot load CA %s: %s", ca_file && ca_file[0] ? ca_file : "defaults", e);
			return NULL;
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
}

static bool x509_days(X509 *cert, int *days)
{
	int d = 0, s = 0;
	bool ok = ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(cert)) == 1;
	if (ok)
		*days = d;
	return ok;
}

bool mm_tls_der_days(const unsigned char *der, size_t len, int *days)
{
	X509 *cert = d2i_X509(NULL, &der, (long)len);
	if (!cert)
		return false;
	bool ok = x509_days(cert, days);
	X509_free(cert);
	return ok;
}

bool mm_tls_cert_days(SSL *ssl, int *days)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (!cert)
		return false;
	bool ok = x509_days(cert, days);
	X509_free(cert);
	return ok;
}
