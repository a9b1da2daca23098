import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "tempoftp", template: "%s · tempoftp" },
  description: "Temporary, encrypted file shares fetched over FTP",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">{children}</body>
    </html>
  );
}
