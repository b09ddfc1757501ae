"""Fixed sentences the gateway itself says to citizens (everything else comes from Rasa)."""

EMPTY_MESSAGE = "Anh/chị vui lòng nhập câu hỏi hoặc nội dung cần hỗ trợ."
TOO_LONG = (
    "Tin nhắn của anh/chị dài quá {limit} ký tự. Anh/chị vui lòng gửi ngắn gọn hơn "
    "hoặc chia thành nhiều tin nhắn."
)
BUSY = "Hệ thống đang bận, anh/chị vui lòng thử lại sau ít phút."
# For channels with an inbox: the message is kept and answered as soon as the system is back.
BUSY_WAIT = "Hệ thống đang bận, anh/chị vui lòng chờ trong giây lát. Tôi sẽ trả lời ngay khi xử lý xong."
BAD_REQUEST = "Yêu cầu không hợp lệ."
TOO_FAST = "Anh/chị gửi tin nhắn nhanh quá. Anh/chị vui lòng chờ một phút rồi gửi tiếp ạ."
# A message the bot does not read (a sticker, a voice message, a file): the reply, and what the
# conversation keeps of the citizen's message (officials read it in the conversation's history).
NOT_TEXT = "Hiện tôi chỉ đọc được tin nhắn chữ. Anh/chị vui lòng nhập câu hỏi bằng chữ."
NOT_TEXT_KEPT = "[Tin nhắn không phải chữ]"
NO_WORDS = "Tôi chỉ đọc được chữ. Anh/chị vui lòng nhập câu hỏi bằng chữ để tôi hỗ trợ ạ."
# Said when Rasa answers nothing at all: a citizen should never be left without a reply.
NOT_UNDERSTOOD = (
    "Xin lỗi, tôi chưa hiểu ý anh/chị. Anh/chị vui lòng nói rõ hơn, ví dụ: "
    "\"đăng ký khai sinh cần giấy tờ gì\"."
)


def split_text(text: str, limit: int) -> list[str]:
    """Cut at line ends (or spaces) so each part fits one message."""
    parts, rest = [], text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts + [rest] if rest or not parts else parts


# What a citizen is told when officials act on their feedback ticket.
COMPLAINT_ASSIGNED = "Phản ánh {ticket} của anh/chị đã được {agency} phân công cán bộ xử lý."
COMPLAINT_REPLY = "Phản hồi của {agency} về phản ánh {ticket}:\n{text}"
COMPLAINT_RESOLVED = ("Phản ánh {ticket} của anh/chị đã được {agency} xử lý xong.\nKết quả: {note}\n"
                      "Anh/chị có hài lòng với kết quả xử lý không?")
COMPLAINT_REOPENED = "Phản ánh {ticket} được mở lại để tiếp tục xử lý. Lý do: {reason}"
COMPLAINT_FORWARDED = "Phản ánh {ticket} đã được chuyển đến {agency} là cơ quan có thẩm quyền xử lý."
COMPLAINT_ESCALATED = ("Phản ánh {ticket} đã quá hạn xử lý. Hệ thống đã chuyển lên {agency} để chỉ đạo, "
                       "đôn đốc. Thành thật xin lỗi anh/chị vì sự chậm trễ.")

# Handoff to officials.
HANDOFF_OFFICIAL_SAYS = "Cán bộ {name}: {text}"
HANDOFF_ENDED_BY_CITIZEN = "Đã kết thúc trò chuyện với cán bộ. Tôi (trợ lý ảo) tiếp tục hỗ trợ anh/chị."
HANDOFF_ENDED_BY_OFFICIAL = ("Cán bộ đã kết thúc cuộc trò chuyện. Cảm ơn anh/chị. Tôi (trợ lý ảo) tiếp tục hỗ trợ "
                             "anh/chị nếu cần.")
HANDOFF_TIMED_OUT = ("Cuộc trò chuyện với cán bộ đã kết thúc do lâu không có trao đổi. Tôi (trợ lý ảo) tiếp tục hỗ trợ "
                     "anh/chị; nếu cần cán bộ, anh/chị nhắn \"gặp cán bộ\" hoặc gửi phản ánh để được trả lời.")
