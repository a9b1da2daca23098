import type { Metadata } from "next";
import { connection } from "next/server";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "tempoftp", template: "%s · tempoftp" },
  description: "Temporary, encrypted file shares fetched over FTP",
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Rendered per request, never prerendered: the CSP nonce proxy.ts makes must reach every page's scripts.
  await connection();
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">{children}</body>
    </html>
  );
}
