/*
 * mailmon config: check, get, set and list configuration keys, after
 * Messaging Server's configutil. Keys are named section.key, e.g.
 * alarm.diskavail.threshold.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alarm/alarm_def.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/config_edit.h"
#include "core/strutil.h"
#include "probes/e2e_conf.h"
#include "services/service_check.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon config - check, read and change the mailmon configuration\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon config check [FILE]\n"
	      "    mailmon config get [KEY]\n"
	      "    mailmon config set KEY VALUE\n"
	      "    mailmon config keys\n"
	      "    mailmon config defaults\n"
	      "    mailmon config man\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    KEY is section.key as in the file, for example\n"
	      "    alarm.diskavail.threshold for \"threshold\" under [alarm.diskavail].\n"
	      "\n"
	      "    check     validate FILE (default: the -c file); print every problem\n"
	      "              as FILE:LINE: [section] key: what is wrong\n"
	      "    get       print KEY's value (from the file, else its default); with\n"
	      "              no KEY, every key as section.key = value\n"
	      "    set       change KEY in the file in place, keeping comments; the\n"
	      "              file is replaced atomically. Send mailmond SIGHUP (or\n"
	      "              systemctl reload mailmond) to apply\n"
	      "    keys      list every known key with its type and default\n"
	      "    defaults  print a complete commented config with every default\n"
	      "    man       print the mailmon.conf(5) man page (roff), from the same schema\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 success; 1 invalid config or value; 2 bad usage.\n",
	      out);
}

static int do_check(struct mm_cli *cli, int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : cli->config_path;
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(path, &diags);
	/* Keys are valid one by one; now what the daemon would refuse. */
	if (conf && mm_services_check(conf, &diags) + mm_e2e_check(conf, &diags) +
			    mm_alarm_defs_check(conf, &diags) >
			    0) {
		mm_config_free(conf);
		conf = NULL;
	}
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "%s\n", diags.msgs[i]);
	if (!conf) {
		fprintf(stderr, "%s: %zu error%s\n", path, diags.n, diags.n == 1 ? "" : "s");
		mm_diags_free(&diags);
		return 1;
	}
	printf("%s: OK\n", path);
	mm_config_free(conf);
	mm_diags_free(&diags);
	return 0;
}

static void print_entry(const struct mm_config *conf, const char *section,
			const char *key)
{
	const char *v = mm_config_get(conf, section, key);
	printf("%s.%s = %s\n", section, key, v ? v : "");
}

static int do_get(struct mm_cli *cli, int argc, char **argv)
{
	struct mm_config *conf = mm_cli_load_config(cli);
	if (!conf)
		return 1;
	int rc = 0;
	if (argc < 2) {
		/* Every fixed key, then every key of each named instance. */
		for (size_t i = 0; i < mm_conf_key_count(); i++)
			if (!strchr(mm_conf_key_at(i)->section, '*'))
				print_entry(conf, mm_conf_key_at(i)->section, mm_conf_key_at(i)->name);
		for (size_t s = 0; s < conf->nsections; s++)
			for (size_t i = 0; i < mm_conf_key_count(); i++)
				if (strchr(mm_conf_key_at(i)->section, '*') &&
				    mm_conf_find_key(conf->sections[s], mm_conf_key_at(i)->name) ==
					    mm_conf_key_at(i))
					print_entry(conf, conf->sections[s], mm_conf_key_at(i)->name);
		goto out;
	}
	char section[256], key[128];
	if (mm_config_split_name(argv[1], section, sizeof section, key, sizeof key) < 0 ||
	    !mm_conf_find_key(section, key)) {
		fprintf(stderr, "mailmon config get: %s: unknown key (see mailmon config keys)\n",
			argv[1]);
		rc = 1;
		goto out;
	}
	const char *v = mm_config_get(conf, section, key);
	printf("%s\n", v ? v : "");
out:
	mm_config_free(conf);
	return rc;
}

static int do_set(struct mm_cli *cli, int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mailmon config set KEY VALUE\n");
		return 2;
	}
	char section[256], key[128];
	struct mm_err err;
	if (mm_config_split_name(argv[1], section, sizeof section, key, sizeof key) < 0) {
		fprintf(stderr, "mailmon config set: %s: expected section.key\n", argv[1]);
		return 2;
	}
	if (mm_config_set_in_file(cli->config_path, section, key, argv[2], &err) < 0) {
		fprintf(stderr, "mailmon config set: %s\n", err.msg);
		return 1;
	}
	/* Say so if the rest of the file has problems the daemon will refuse. */
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(cli->config_path, &diags);
	if (conf) {
		mm_services_check(conf, &diags);
		mm_e2e_check(conf, &diags);
		mm_alarm_defs_check(conf, &diags);
	}
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "warning: %s\n", diags.msgs[i]);
	mm_config_free(conf);
	mm_diags_free(&diags);
	return 0;
}

static int do_keys(void)
{
	for (size_t i = 0; i < mm_conf_key_count(); i++) {
		const struct mm_conf_key *k = mm_conf_key_at(i);
		char name[160];
		snprintf(name, sizeof name, "%s.%s", k->section, k->name);
		printf("%-36s %-12s %s%s%s\n", name,
		       k->type == MM_CT_ENUM ? k->choices : mm_conf_type_name(k->type),
		       k->def ? k->def : "(unset)", k->reloadable ? "" : "  [restart]", "");
	}
	return 0;
}

/* Prints help text as "# " comment lines. */
static void comment(const char *text)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		printf("# %.*s\n", (int)len, p);
		p += len + (nl ? 1 : 0);
	}
}

static int do_defaults(void)
{
	printf("# mailmon.conf: every key with its default, commented out.\n"
	       "# Generated by `mailmon config defaults`; uncomment what you change.\n"
	       "# Durations: 500ms 30s 5m 2h 1d. Sizes: 4096 64k 10M 1G.\n"
	       "# Keys are also addressable as section.key: mailmon config get alarm.noticercpt\n");
	for (size_t s = 0; s < mm_conf_section_count(); s++) {
		const struct mm_conf_section *sec = mm_conf_section_at(s);
		printf("\n");
		comment(sec->help);
		printf("%s[%s]\n", strchr(sec->name, '*') ? "#" : "", sec->name);
		for (size_t i = 0; i < mm_conf_key_count(); i++) {
			const struct mm_conf_key *k = mm_conf_key_at(i);
			if (strcmp(k->section, sec->name) != 0)
				continue;
			printf("\n");
			comment(k->help);
			if (k->type == MM_CT_ENUM)
				printf("# One of: %s.\n", k->choices);
			if (!k->reloadable)
				printf("# Changing it needs a restart.\n");
			printf("#%s = %s\n", k->name, k->def ? k->def : "");
		}
	}
	return 0;
}

int cmd_config(struct mm_cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "check") == 0 && argc <= 3)
		return do_check(cli, argc - 1, argv + 1);
	if (strcmp(sub, "get") == 0 && argc <= 3)
		return do_get(cli, argc - 1, argv + 1);
	if (strcmp(sub, "set") == 0)
		return do_set(cli, argc - 1, argv + 1);
	if (strcmp(sub, "keys") == 0 && argc == 2)
		return do_keys();
	if (strcmp(sub, "defaults") == 0 && argc == 2)
		return do_defaults();
	if (strcmp(sub, "man") == 0 && argc == 2) {
		mm_cli_config_man(stdout);
		return 0;
	}
	fprintf(stderr, "mailmon config: bad arguments; see mailmon config --help\n");
	return 2;
}
