"""labconf: the config files of the mailmon lab, as pure functions.

Each function takes plain values (paths, ports, users) and returns the text
of one server's config file; mailmonlab.Lab writes them into the lab dir.
Nothing here touches the file system or the network, so a config can be
read or diffed without starting anything.

Public: POSTFIX_MASTER_CF, postfix_main_cf, transport_map, dovecot_conf,
dovecot_users, slapd_conf, ldap_ldif, haproxy_cfg, snmpd_conf, and the lab
constants (LOOPBACK, LAB_DOMAIN, LDAP_*).
"""

LOOPBACK = "127.0.0.1"
LAB_DOMAIN = "lab.test"
LDAP_BASE = "dc=lab,dc=test"
LDAP_ROOTDN = "cn=admin,dc=lab,dc=test"
LDAP_ROOTPW = "lab-secret"

POSTFIX_MASTER_CF = """\
# mailmon lab master.cf: chroot n everywhere (a chroot breaks LMTP to a
# unix socket outside the queue dir), smtpd only on the lab port.
{smtpd_addr} inet n - n - - smtpd
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
proxywrite unix  - - n -    1 proxymap
smtp       unix  - - n -    - smtp
relay      unix  - - n -    - smtp
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
lmtp       unix  - - n -    - lmtp
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
"""


def postfix_main_cf(p):
    """main.cf from a dict of paths/ports/settings (see Lab._postfix_conf).

    Every DNS path is off: numeric nexthops, dns_support_level disabled,
    native host lookup, no peername lookup, and unknown domains go to the
    error transport, never to the smtp client.
    """
    settings = [
        ("compatibility_level", "3.6"),
        ("queue_directory", p["queue_dir"]),
        ("data_directory", p["data_dir"]),
        ("mail_owner", "postfix"),
        ("setgid_group", "postdrop"),
        ("myhostname", "mail." + LAB_DOMAIN),
        ("mydomain", LAB_DOMAIN),
        ("myorigin", "$myhostname"),
        ("mydestination", ""),
        ("local_recipient_maps", ""),
        ("local_transport", "error:5.1.1 no local delivery in the lab"),
        ("alias_maps", ""),
        ("alias_database", ""),
        ("biff", "no"),
        ("append_dot_mydomain", "no"),
        ("inet_interfaces", "loopback-only"),
        ("inet_protocols", "ipv4"),
        ("mynetworks", "127.0.0.0/8"),
        ("smtpd_relay_restrictions",
         "permit_mynetworks, reject_unauth_destination"),
        ("smtpd_banner", "$myhostname ESMTP mailmon-lab"),
        ("smtp_dns_support_level", "disabled"),
        ("lmtp_dns_support_level", "disabled"),
        ("smtp_host_lookup", "native"),
        ("lmtp_host_lookup", "native"),
        ("smtpd_peername_lookup", "no"),
        ("smtp_bind_address", LOOPBACK),
        ("transport_maps", "texthash:" + p["transport"]),
        ("default_transport", "error:5.4.4 domain not routed in the lab"),
        ("relay_transport", "error:5.4.4 domain not routed in the lab"),
        ("virtual_mailbox_domains", LAB_DOMAIN),
        ("virtual_transport", "lmtp:unix:" + p["lmtp_socket"]),
        ("maillog_file", p["maillog"]),
        ("maillog_file_prefixes", p["labdir"]),
        ("syslog_name", p["syslog_name"]),
        ("queue_run_delay", p["queue_run_delay"]),
        ("minimal_backoff_time", p["minimal_backoff_time"]),
        ("maximal_backoff_time", p["maximal_backoff_time"]),
    ]
    # Overrides replace a default in place: a second entry for the same
    # name would make Postfix warn "overriding earlier entry".
    merged = dict(settings)
    merged.update(p["extra"])
    body = "".join("%s = %s\n" % kv for kv in merged.items())
    return "# mailmon lab main.cf (generated)\n" + body


def transport_map(routes):
    """texthash transport table text from {domain: nexthop}."""
    return "".join("%s %s\n" % kv for kv in routes.items())


def dovecot_conf(p):
    """dovecot.conf for the lab: IMAP/POP3 plain+TLS, LMTP unix socket.

    p["dh"]: optional DH parameter file (Debian ships one).

    anvil-auth-penalty mode 0 is the only way to switch off the up-to-15 s
    delay after failed logins from one IP (tests fail logins on purpose).
    """
    dh = "ssl_dh = <%s\n" % p["dh"] if p.get("dh") else ""
    return """\
# mailmon lab dovecot.conf (generated)
protocols = imap pop3 lmtp
listen = {ip}
instance_name = {instance}
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log}
info_log_path = {log}
hostname = mail.{domain}
postmaster_address = postmaster@{domain}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
{dh}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_username_format = %Ln
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
mail_location = maildir:{mail_dir}/%n/Maildir
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {users}
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {users}
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
""".format(ip=LOOPBACK, domain=LAB_DOMAIN, **dict(p, dh=dh))


def dovecot_users(users, mail_dir):
    """passwd-file lines: user:{PLAIN}pw:uid:gid:gecos:home:shell.

    uid/gid stay empty so mail_uid/mail_gid (dovecot) apply.
    """
    return "".join("%s:{PLAIN}%s::::%s/%s::\n" % (u, pw, mail_dir, u)
                   for u, pw in users.items())


def slapd_conf(p):
    """slapd.conf: back_mdb (a module on Debian), four schemas, lab suffix."""
    schemas = "".join("include /etc/ldap/schema/%s.schema\n" % s
                      for s in ("core", "cosine", "nis", "inetorgperson"))
    return """\
# mailmon lab slapd.conf (generated)
{schemas}pidfile {pidfile}
argsfile {argsfile}
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix "{base}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {data_dir}
index objectClass eq
index uid,mail eq
""".format(schemas=schemas, base=LDAP_BASE, rootdn=LDAP_ROOTDN,
           rootpw=LDAP_ROOTPW, **p)


def ldap_ldif(users):
    """The lab's directory: base, ou=people, one inetOrgPerson per user."""
    out = ["dn: %s\nobjectClass: dcObject\nobjectClass: organization\n"
           "dc: lab\no: mailmon lab\n" % LDAP_BASE,
           "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n"
           % LDAP_BASE]
    for u, pw in users.items():
        out.append("dn: uid={u},ou=people,{b}\nobjectClass: inetOrgPerson\n"
                   "uid: {u}\ncn: {c}\nsn: {c}\nmail: {u}@{d}\n"
                   "userPassword: {pw}\n".format(
                       u=u, b=LDAP_BASE, c=u.capitalize(), d=LAB_DOMAIN,
                       pw=pw))
    return "\n".join(out)


def haproxy_cfg(p, servers):
    """haproxy.cfg: one TCP frontend balancing to servers.

    servers: list of dicts {name, port, addr='127.0.0.1', weight=None,
    agent_port=None, agent_send=None}.  A server with agent_port gets
    `check agent-check` polling every second, so tests can drain/ready it
    by agent answers; with agent_send also `agent-send "TEXT\\n"` (HAProxy
    sends TEXT and a newline to the agent first).
    noreuseport makes a port clash fail loudly instead of sharing.
    """
    lines = []
    for s in servers:
        line = "    server %s %s:%d" % (s["name"], s.get("addr", LOOPBACK),
                                        s["port"])
        if s.get("weight") is not None:
            line += " weight %d" % s["weight"]
        if s.get("agent_port"):
            line += (" check inter 1s agent-check agent-addr %s "
                     "agent-port %d agent-inter 1s"
                     % (s.get("agent_addr", LOOPBACK), s["agent_port"]))
            if s.get("agent_send"):
                line += ' agent-send "%s\\n"' % s["agent_send"]
        lines.append(line)
    return """\
# mailmon lab haproxy.cfg (generated)
global
    noreuseport
    stats socket {admin_sock} level admin
    log stdout format raw local0

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s

frontend smtp_in
    bind {ip}:{port}
    default_backend smtp_nodes

backend smtp_nodes
    balance roundrobin
{servers}
""".format(ip=LOOPBACK, servers="\n".join(lines), **p)


def snmpd_conf(p):
    """snmpd.conf: AgentX master on a lab socket, v2c 'public' on loopback."""
    return """\
# mailmon lab snmpd.conf (generated)
agentAddress udp:{ip}:{port}
master agentx
agentXSocket {agentx}
agentXPerms 0660 0770
rocommunity public {ip}
""".format(ip=LOOPBACK, **p)
